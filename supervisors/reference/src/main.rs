//! `reference-supervisor`: see the library's docs (`src/lib.rs`) for the reading order.

fn main() {
    std::process::exit(reference_supervisor::main_with_args(
        std::env::args().skip(1).collect(),
    ));
}
