//! `sluice demo` runs to completion and its capture decodes cleanly in tshark.

use std::process::Command;

#[test]
fn demo_completes_and_its_capture_is_clean() {
    let dir = std::env::temp_dir().join(format!("sluice-demo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("demo.pcap");
    // With 10% loss too: ARP, ping, DNS and fragments all recover by retrying.
    for loss in ["0", "0.1"] {
        let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["demo", "--pcap", pcap.to_str().unwrap(), "--loss", loss, "--seed", "3"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "demo failed with loss {loss}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for expected in [
            "ARP who-has 10.0.0.2 tell 10.0.0.1",
            "echo reply",
            "DNS response",
            "fragment",
            "port 9 unreachable",
            "demo complete",
        ] {
            assert!(stdout.contains(expected), "no {expected:?} in the demo output (loss {loss}):\n{stdout}");
        }
        if loss == "0" {
            check_with_tshark(&pcap);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn check_with_tshark(pcap: &std::path::Path) {
    match sluice::sim::tshark::analyze(pcap).unwrap() {
        Some(report) => {
            assert!(report.frames > 20, "{} frames", report.frames);
            assert_eq!(report.malformed, 0, "malformed frames: {:?}", report.problems);
            assert_eq!(report.bad_checksums, 0, "bad checksums: {:?}", report.problems);
            assert!(report.is_clean(), "tshark reports problems: {:?}", report.problems);
        }
        None if std::env::var_os("SLUICE_REQUIRE_TOOLS").is_some() => {
            panic!("tshark is required (SLUICE_REQUIRE_TOOLS is set) but not installed")
        }
        None => eprintln!("SKIPPED: tshark is not installed; the capture was not decoded"),
    }
}
