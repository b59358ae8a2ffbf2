//! The `retention` binary: everything lives in the library; see `commands::main`.

fn main() -> std::process::ExitCode {
    retention::commands::main()
}
