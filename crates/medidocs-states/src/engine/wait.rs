//! Wait states: seconds or a timestamp, given or read by path, slept on the clock.

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use super::data::{select, select_opt};
use super::run::{Ctx, Run, Scope};

impl Run<'_> {
    pub(super) async fn wait(
        &self,
        st: &Value,
        raw: Value,
        ctx: &Ctx,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        let input = select_opt(st, "InputPath", &raw, ctx)?;
        scope.assign(st.get("Assign"), &input, ctx)?;
        let seconds = |v: &Value| {
            v.as_f64()
                .filter(|s| *s >= 0.0)
                .ok_or_else(|| Failure::runtime("Wait seconds must be a non-negative number"))
        };
        let until = |v: &Value| -> Result<f64, Failure> {
            let t = v
                .as_str()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
                .ok_or_else(|| Failure::runtime("Wait timestamp must be RFC 3339"))?;
            Ok(((t - self.engine.clock.now()).as_seconds_f64()).max(0.0))
        };
        let secs = if let Some(s) = st.get("Seconds") {
            seconds(s)?
        } else if let Some(p) = st.get("SecondsPath").and_then(Value::as_str) {
            seconds(&select(p, &input, ctx)?)?
        } else if let Some(t) = st.get("Timestamp") {
            until(t)?
        } else if let Some(p) = st.get("TimestampPath").and_then(Value::as_str) {
            until(&select(p, &input, ctx)?)?
        } else {
            0.0
        };
        self.engine.clock.sleep(Duration::from_secs_f64(secs)).await;
        select_opt(st, "OutputPath", &input, ctx)
    }
}
