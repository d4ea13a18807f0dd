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
    // Object and shard bytes as `bytes::Bytes`: decoding slices the receive buffer instead of
    // copying it, and a stripe is handed on without another copy (docs/performance.md).
    let mut builder = tonic_prost_build::configure();
    for field in [
        ".archipel.object.v1.PutObjectChunk.data",
        ".archipel.object.v1.GetObjectChunk.data",
        ".archipel.shard.v1.WriteShardChunk.stripe",
        ".archipel.shard.v1.StripeData.data",
        ".archipel.shard.v1.WholeShard.stripe",
    ] {
        builder = builder.bytes(field);
    }
    builder.compile_protos(&files, &["proto"])?;
    Ok(())
}
