//! The `dpc` binary: a thin shell over [`dpc::cli::run`].

fn main() -> std::process::ExitCode {
    dpc::cli::run()
}
