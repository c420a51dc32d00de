//! The pipeline's steps: the one list the step dispatch, the state machine's resource
//! substitutions (`${InspectFunction}`, …) and the Lambda functions are made from. A test
//! checks the deployment template and the state machine definitions against it.

use std::fmt;
use std::str::FromStr;

/// A step of the document pipeline, as a Task state calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Inspect,
    LinkDuplicate,
    Plan,
    RenderPage,
    OcrPage,
    Finalize,
    Reject,
    Fail,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Inspect,
        Step::LinkDuplicate,
        Step::Plan,
        Step::RenderPage,
        Step::OcrPage,
        Step::Finalize,
        Step::Reject,
        Step::Fail,
    ];

    /// The step's name: what the Lambda function's `MEDIDOCS_FUNCTION` says, and what
    /// logs and errors call it.
    pub fn name(self) -> &'static str {
        match self {
            Step::Inspect => "inspect",
            Step::LinkDuplicate => "link-duplicate",
            Step::Plan => "plan",
            Step::RenderPage => "render-page",
            Step::OcrPage => "ocr-page",
            Step::Finalize => "finalize",
            Step::Reject => "reject",
            Step::Fail => "fail",
        }
    }

    /// The `${…}` substitution a definition's Task resource uses for the step, which is
    /// also the logical id of its function in the deployment template. (`OcrPageFunction`
    /// is the OCR step as a Task of its own, as definitions before the OCR queue called
    /// it; today the OCR worker runs it, fed by the OCR queue.)
    pub fn resource(self) -> &'static str {
        match self {
            Step::Inspect => "InspectFunction",
            Step::LinkDuplicate => "LinkDuplicateFunction",
            Step::Plan => "PlanFunction",
            Step::RenderPage => "RenderPageFunction",
            Step::OcrPage => "OcrPageFunction",
            Step::Finalize => "FinalizeFunction",
            Step::Reject => "RejectFunction",
            Step::Fail => "FailFunction",
        }
    }

    /// Whether the step is a Lambda function of its own; the OCR step runs in the OCR
    /// worker function instead, which the OCR queue feeds.
    pub fn has_function(self) -> bool {
        self != Step::OcrPage
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the pipeline's steps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("there is no step named {0:?}")]
pub struct UnknownStep(pub String);

impl FromStr for Step {
    type Err = UnknownStep;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Step::ALL
            .into_iter()
            .find(|step| step.name() == s)
            .ok_or_else(|| UnknownStep(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_resources_are_distinct_and_read_back() {
        for step in Step::ALL {
            assert_eq!(step.name().parse::<Step>(), Ok(step));
            assert_eq!(step.to_string(), step.name());
            let others = Step::ALL.into_iter().filter(|s| *s != step);
            for other in others {
                assert_ne!(step.name(), other.name());
                assert_ne!(step.resource(), other.resource());
            }
        }
        assert_eq!("ocr".parse::<Step>(), Err(UnknownStep("ocr".to_string())));
    }
}
