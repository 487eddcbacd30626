//! The `flinkform` binary: parse the command line, run it, map errors to exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let command = <flinkform::cli::Cli as clap::CommandFactory>::command();
    let args = flinkform::cli::terraform_flags(&command, std::env::args_os());
    if args.iter().any(|a| a == "--no-color") {
        // Before any thread starts: every printer (anstream, miette, tracing) then sees it.
        unsafe { std::env::set_var("NO_COLOR", "1") };
    }
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new().color(colour).unicode(colour);
        // Off a terminal (CI logs, pipes) messages stay on one line so they can be grepped.
        let opts = if colour { opts } else { opts.width(usize::MAX / 4) };
        Box::new(opts.build())
    }));
    // The HTTP stack's debug and trace logs print request bodies, which carry containers'
    // environment (secrets among it): capped at info, whatever FLINKFORM_LOG asks for.
    let mut filter = tracing_subscriber::EnvFilter::from_env("FLINKFORM_LOG");
    for quiet in ["bollard=info", "hyper=info", "hyper_util=info", "reqwest=info", "h2=info"] {
        filter = filter.add_directive(quiet.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr).init();
    let cli = flinkform::cli::parse(command, args);
    match flinkform::cli::run(cli) {
        Ok(code) => code,
        Err(report) => {
            // Configuration errors carry snippets (miette renders them); anything else is one line.
            if report.source_code().is_some() || report.related().is_some() {
                eprintln!("{report:?}");
            } else {
                use owo_colors::OwoColorize;
                let label = if colour { "Error:".red().bold().to_string() } else { "Error:".to_string() };
                eprintln!("{label} {report}");
            }
            ExitCode::FAILURE
        }
    }
}
