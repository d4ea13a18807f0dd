// Uses the protoc shipped inside the protoc-bin-vendored crate, so no system protoc is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let files = [
        "proto/raft.proto",
        "proto/cluster.proto",
        "proto/meta.proto",
        "proto/shard.proto",
        "proto/object.proto",
        "proto/worker.proto",
        "proto/pki.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    tonic_prost_build::configure().compile_protos(&files, &["proto"])?;
    Ok(())
}
