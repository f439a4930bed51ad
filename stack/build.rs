//! Compiles the XDP steering program (`ebpf/sluice_xdp.bpf.c`) with clang into `OUT_DIR`,
//! where `stack/src/xdp/program.rs` embeds it. No prebuilt object is committed: every
//! build compiles it from source, so the object always matches the source.

use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = "../ebpf/sluice_xdp.bpf.c";
const OBJECT: &str = "sluice_xdp.bpf.o";
const INSTALL_HINT: &str =
    "install them with `apt-get install clang libbpf-dev` (or run `cargo xtask build`, \
                            which installs them)";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(message) = compile(Path::new(SOURCE), &out_dir.join(OBJECT)) {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn compile(source: &Path, object: &Path) -> Result<(), String> {
    if !Path::new("/usr/include/bpf/bpf_helpers.h").exists() {
        return Err(format!(
            "the XDP program needs the libbpf headers (/usr/include/bpf/bpf_helpers.h from package \
             libbpf-dev); {INSTALL_HINT}"
        ));
    }
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    let mut command = Command::new(&clang);
    command.args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"]);
    if let Some(multiarch) = multiarch_include() {
        command.arg(format!("-I{multiarch}"));
    }
    command.arg("-c").arg(source).arg("-o").arg(object);
    let output = command.output().map_err(|error| {
        format!(
            "cannot run `{clang}` to compile the XDP program {}: {error}; {INSTALL_HINT}",
            source.display()
        )
    })?;
    if !output.status.success() {
        return Err(format!(
            "`{clang}` failed to compile the XDP program {} ({}):\n{}",
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// Debian keeps `asm/types.h` in a per-architecture directory that `-target bpf` does not
/// search by itself.
fn multiarch_include() -> Option<String> {
    let triple = match std::env::var("CARGO_CFG_TARGET_ARCH").ok()?.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        _ => return None,
    };
    let dir = format!("/usr/include/{triple}");
    Path::new(&dir).is_dir().then_some(dir)
}
