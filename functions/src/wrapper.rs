//! `AWS_LAMBDA_EXEC_WRAPPER` for an OS-only runtime. Lambda starts a managed runtime as
//! `$AWS_LAMBDA_EXEC_WRAPPER <runtime> <args>`, so that a layer (the AWS Fault Injection
//! Service extension on a game day, docs/dr-runbook.md) can put itself between the runtime
//! and the Lambda Runtime API. For `provided.al2023` it does not: the binary is the
//! bootstrap and starts itself through the wrapper, once (the wrapper runs it again with
//! [`WRAPPED`] set).

/// Set in the environment of the binary the wrapper starts, so it does not wrap again.
pub const WRAPPED: &str = "MEDIDOCS_EXEC_WRAPPED";

/// The wrapper to start through, if one is set and this process is not its child.
pub fn to_run(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    if lookup(WRAPPED).is_some() {
        return None;
    }
    lookup("AWS_LAMBDA_EXEC_WRAPPER")
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
}

/// Replaces this process with `wrapper <this binary>`; returns only if that failed.
pub fn exec(wrapper: &str) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let me = match std::env::current_exe() {
        Ok(me) => me,
        Err(e) => return e,
    };
    let err = std::process::Command::new(wrapper)
        .arg(me)
        .args(std::env::args_os().skip(1))
        .env(WRAPPED, "1")
        .exec();
    std::io::Error::new(
        err.kind(),
        format!("could not start through AWS_LAMBDA_EXEC_WRAPPER={wrapper}: {err}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapper_runs_once_and_only_when_set() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(to_run(env(&[])), None);
        assert_eq!(to_run(env(&[("AWS_LAMBDA_EXEC_WRAPPER", " ")])), None);
        assert_eq!(
            to_run(env(&[(
                "AWS_LAMBDA_EXEC_WRAPPER",
                "/opt/aws-fis/bootstrap"
            )]))
            .as_deref(),
            Some("/opt/aws-fis/bootstrap")
        );
        assert_eq!(
            to_run(env(&[
                ("AWS_LAMBDA_EXEC_WRAPPER", "/opt/aws-fis/bootstrap"),
                (WRAPPED, "1")
            ])),
            None
        );
    }

    #[test]
    fn a_wrapper_that_runs_the_binary_again_runs_it_with_the_marker() {
        // A wrapper as the extension's: it runs what it is given, here printing the marker.
        let dir = tempfile::tempdir().unwrap();
        let wrapper = dir.path().join("wrapper.sh");
        std::fs::write(&wrapper, "#!/bin/sh\necho \"$MEDIDOCS_EXEC_WRAPPED $#\"\n").unwrap();
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        // exec replaces the process: run it in a child (this test binary, re-entered).
        if std::env::var_os("MEDIDOCS_WRAPPER_CHILD").is_some() {
            let err = exec(wrapper.to_str().unwrap());
            panic!("exec returned: {err}");
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "wrapper::tests::a_wrapper_that_runs_the_binary_again_runs_it_with_the_marker",
                "--exact",
                "--nocapture",
            ])
            .env("MEDIDOCS_WRAPPER_CHILD", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        // The wrapper saw the marker, and this binary with its arguments.
        assert!(stdout.contains("1 4"), "{stdout}");
        let missing = exec("/nonexistent/wrapper").to_string();
        assert!(
            missing.contains("AWS_LAMBDA_EXEC_WRAPPER=/nonexistent/wrapper"),
            "{missing}"
        );
    }
}
