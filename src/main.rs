//! The `dpc` binary: a thin shell over [`dpc::cli::run`], and the central account's Lambda
//! `bootstrap` ([`dpc::lambda::main`]) when Lambda's Runtime API is in the environment.

fn main() -> std::process::ExitCode {
    if dpc::lambda::in_lambda() {
        return dpc::lambda::main();
    }
    dpc::cli::run()
}
