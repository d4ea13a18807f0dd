//! Chaos campaigns against a real Archipel cluster (to be built).

fn main() {
    eprintln!("chaos-tests: not built yet");
    std::process::exit(2);
}
