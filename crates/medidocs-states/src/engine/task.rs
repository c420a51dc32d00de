//! Task states: the registered handler called under TimeoutSeconds and HeartbeatSeconds.

use std::time::Duration;

use serde_json::{Value, json};

use super::data::number_field;
use super::run::{Ctx, Run};
use super::{Failure, Heartbeat, within_quota};

impl Run<'_> {
    pub(super) async fn task(&self, st: &Value, input: Value, ctx: &Ctx) -> Result<Value, Failure> {
        let timeout = number_field(st, "TimeoutSeconds", &input, ctx)?;
        let heartbeat_secs = number_field(st, "HeartbeatSeconds", &input, ctx)?;
        let Some(resource) = st["Resource"].as_str() else {
            return Err(Failure::runtime(format!(
                "the Resource {} is a CloudFormation intrinsic, resolved only when the stack is deployed; to run the definition here, write a ${{Name}} placeholder and pass its value as a DefinitionSubstitution",
                st["Resource"]
            )));
        };
        let resource = self.engine.resolve_resource(resource);
        self.event(
            "TaskScheduled",
            "taskScheduledEventDetails",
            json!({ "resourceType": "lambda", "resource": resource, "region": "local", "parameters": input.to_string() }),
        );
        let h = self
            .engine
            .handlers
            .get(&resource)
            .cloned()
            .ok_or_else(|| {
                Failure::runtime(format!("no handler is registered for resource {resource}"))
            })?;
        let heartbeat = Heartbeat::new();
        let call = h.call_with_heartbeat(input, heartbeat.clone());
        let clock = &self.engine.clock;
        // Deadlines are taken now, when the task starts, not when the timers are first polled.
        let started = clock.now();
        let timed_out = async {
            match timeout {
                Some(t) => {
                    clock
                        .expire_at(started + Duration::from_secs_f64(t.max(0.0)))
                        .await;
                    Failure::new(
                        "States.Timeout",
                        format!("the task did not finish within {t} s"),
                    )
                }
                None => std::future::pending().await,
            }
        };
        // Each beat restarts the HeartbeatSeconds timer.
        let silent = async {
            match heartbeat_secs {
                Some(h) => {
                    let mut deadline = started + Duration::from_secs_f64(h.max(0.0));
                    loop {
                        tokio::select! {
                            biased;
                            _ = heartbeat.0.notified() => {
                                deadline = clock.now() + Duration::from_secs_f64(h.max(0.0));
                            }
                            _ = clock.expire_at(deadline) => break Failure::new(
                                "States.HeartbeatTimeout",
                                format!("the task sent no heartbeat for {h} s"),
                            ),
                        }
                    }
                }
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            biased;
            r = call => r,
            f = timed_out => Err(f),
            f = silent => Err(f),
        };
        let result = result.and_then(|v| {
            let text = v.to_string();
            within_quota(&text, "task result")?;
            self.event(
                "TaskSucceeded",
                "taskSucceededEventDetails",
                json!({ "resourceType": "lambda", "resource": resource, "output": text }),
            );
            Ok(v)
        });
        if let Err(f) = &result {
            let (kind, key) = if f.error == "States.Timeout" || f.error == "States.HeartbeatTimeout"
            {
                ("TaskTimedOut", "taskTimedOutEventDetails")
            } else {
                ("TaskFailed", "taskFailedEventDetails")
            };
            self.event(kind, key, json!({ "resourceType": "lambda", "resource": resource, "error": f.error, "cause": f.cause }));
        }
        result
    }
}
