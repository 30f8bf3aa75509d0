fn main() {
    std::process::exit(fake_claude::cli::main());
}
