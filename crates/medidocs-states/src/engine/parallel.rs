//! Parallel states: every branch on the same input, the results in branch order.

use serde_json::{Value, json};

use super::Failure;
use super::run::{Ctx, Run};

impl Run<'_> {
    pub(super) async fn parallel(
        &self,
        st: &Value,
        input: Value,
        ctx: &Ctx,
    ) -> Result<Value, Failure> {
        self.event(
            "ParallelStateStarted",
            "parallelStateStartedEventDetails",
            json!({}),
        );
        let branches = st["Branches"].as_array().cloned().unwrap_or_default();
        let runs = branches
            .iter()
            .map(|b| self.machine(b, input.clone(), None, ctx.vars.clone()));
        let results = futures::future::join_all(runs).await;
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(v) => out.push(v),
                Err(f) => {
                    self.event(
                        "ParallelStateFailed",
                        "parallelStateFailedEventDetails",
                        json!({ "error": f.error, "cause": f.cause }),
                    );
                    return Err(f);
                }
            }
        }
        self.event(
            "ParallelStateSucceeded",
            "parallelStateSucceededEventDetails",
            json!({}),
        );
        Ok(Value::Array(out))
    }
}
