//! The `flinkform` binary: parse the command line, run it, map errors to exit codes.

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().color(colour).unicode(colour).build())
    }));
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("FLINKFORM_LOG"))
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
    let cli = flinkform::cli::Cli::parse();
    match flinkform::cli::run(cli) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
