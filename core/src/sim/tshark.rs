//! An independent check of a capture: tshark (Wireshark's dissectors) decodes every frame
//! with checksum validation on, and the report counts what it objects to.
//!
//! Two passes over the file, both with
//! `-n -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE`
//! (`-n`: no name resolution, so output depends on the file alone):
//!
//! 1. `tshark -r FILE` for the one-line summaries;
//! 2. `tshark -r FILE -T fields -E separator=/t -E occurrence=a -E aggregator=<0x1f>` with
//!    `-e frame.number -e _ws.malformed -e ip.checksum.status -e udp.checksum.status
//!    -e tcp.checksum.status -e icmp.checksum.status -e tcp.analysis.retransmission
//!    -e tcp.analysis.fast_retransmission -e tcp.analysis.out_of_order -e _ws.expert.severity
//!    -e _ws.expert.group -e _ws.expert.message`, one line per frame, from which a frame
//!    counts as
//!    - malformed if `_ws.malformed` is present (the display filter `_ws.malformed`);
//!    - a bad checksum if any checksum status is 0, "Bad" (the filter
//!      `ip.checksum.status == "Bad" || udp.checksum.status == "Bad" ||
//!      tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad"`);
//!    - a retransmission as the filter
//!      `tcp.analysis.retransmission || tcp.analysis.fast_retransmission`;
//!    - out of order as the filter `tcp.analysis.out_of_order`. Wireshark calls a segment
//!      that fills a hole "out-of-order" rather than a retransmission when it comes less
//!      than one handshake RTT after the highest segment (packet-tcp.c), which is how a
//!      SACK sender's retransmissions interleaved with new data look;
//!    - an expert error or warning if one of its expert items has severity Warning or Error
//!      outside the Sequence group (`_ws.expert.severity >= "warning"`, minus sequence
//!      analysis); items of the Sequence group (TCP lost segment, out of order, duplicate
//!      ACK, zero window, unanswered ICMP request) are what loss and reordering cause, and
//!      are counted apart in `sequence_warnings`.
//!
//! Field names and values checked against TShark 4.0 (`tshark -G fields`, `tshark -G values`).

use core::fmt;
use std::io;
use std::path::Path;
use std::process::{Command, Output};

/// Expert severities (epan/proto.h): PI_WARN and PI_ERROR.
const SEVERITY_WARN: u32 = 0x0060_0000;
/// Expert group PI_SEQUENCE: protocol sequence analysis (TCP analysis, ICMP responses).
const GROUP_SEQUENCE: u32 = 0x0200_0000;
/// Value of a `*.checksum.status` field for a checksum that does not verify.
const CHECKSUM_BAD: &str = "0";
/// Separates multiple occurrences of a field; a byte that no field value contains.
const AGGREGATOR: char = '\u{1f}';
/// Diagnostic messages kept in a report.
const MAX_PROBLEMS: usize = 100;

const FIELDS: [&str; 12] = [
    "frame.number",
    "_ws.malformed",
    "ip.checksum.status",
    "udp.checksum.status",
    "tcp.checksum.status",
    "icmp.checksum.status",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.out_of_order",
    "_ws.expert.severity",
    "_ws.expert.group",
    "_ws.expert.message",
];

/// What tshark found in a capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsharkReport {
    pub frames: u64,
    /// Frames a dissector could not decode (`_ws.malformed`).
    pub malformed: u64,
    /// Frames with an IPv4, UDP, TCP or ICMP checksum that does not verify.
    pub bad_checksums: u64,
    /// Frames with an expert warning or error outside sequence analysis.
    pub expert_errors_and_warnings: u64,
    /// Frames with a sequence-analysis warning (TCP lost segment, out of order, zero window,
    /// unanswered ICMP request...): expected on an impaired link, not a fault of the stack.
    pub sequence_warnings: u64,
    /// Frames tshark takes for TCP retransmissions or fast retransmissions.
    pub tcp_retransmissions: u64,
    /// Frames tshark takes for out-of-order TCP segments: reordered on the way to the
    /// capture point, or retransmissions sent soon after new data (see the module docs).
    pub tcp_out_of_order: u64,
    /// "frame N: message" for the expert warnings and errors counted above (at most 100).
    pub problems: Vec<String>,
    /// tshark's one-line summary of each frame.
    pub summary: Vec<String>,
}

impl TsharkReport {
    /// No malformed frame, no bad checksum, no expert warning or error outside sequence
    /// analysis.
    pub fn is_clean(&self) -> bool {
        self.malformed == 0 && self.bad_checksums == 0 && self.expert_errors_and_warnings == 0
    }

    /// Reads the output of the fields pass.
    fn from_fields(text: &str) -> io::Result<TsharkReport> {
        let mut report = TsharkReport::default();
        for line in text.lines() {
            let columns: Vec<&str> = line.splitn(FIELDS.len(), '\t').collect();
            let [number, malformed, ip, udp, tcp, icmp, retransmission, fast_retransmission, out_of_order, severities, groups, messages] =
                columns[..]
            else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unexpected tshark fields line: {line:?}"),
                ));
            };
            report.frames += 1;
            if !malformed.is_empty() {
                report.malformed += 1;
            }
            if [ip, udp, tcp, icmp].iter().any(|f| f.split(AGGREGATOR).any(|v| v == CHECKSUM_BAD)) {
                report.bad_checksums += 1;
            }
            if !retransmission.is_empty() || !fast_retransmission.is_empty() {
                report.tcp_retransmissions += 1;
            }
            if !out_of_order.is_empty() {
                report.tcp_out_of_order += 1;
            }
            let (mut problem, mut sequence) = (false, false);
            let items =
                severities.split(AGGREGATOR).zip(groups.split(AGGREGATOR)).zip(messages.split(AGGREGATOR));
            for ((severity, group), message) in items {
                let (Ok(severity), Ok(group)) = (severity.parse::<u32>(), group.parse::<u32>()) else {
                    continue;
                };
                if severity < SEVERITY_WARN {
                    continue;
                }
                if group == GROUP_SEQUENCE {
                    sequence = true;
                } else {
                    problem = true;
                    if report.problems.len() < MAX_PROBLEMS {
                        report.problems.push(format!("frame {number}: {message}"));
                    }
                }
            }
            report.expert_errors_and_warnings += u64::from(problem);
            report.sequence_warnings += u64::from(sequence);
        }
        Ok(report)
    }
}

impl fmt::Display for TsharkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} frames: {} malformed, {} bad checksums, {} expert warnings/errors, \
             {} sequence warnings, {} TCP retransmissions, {} out of order",
            self.frames,
            self.malformed,
            self.bad_checksums,
            self.expert_errors_and_warnings,
            self.sequence_warnings,
            self.tcp_retransmissions,
            self.tcp_out_of_order
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

fn tshark(path: &Path, extra: &[&str]) -> io::Result<Option<String>> {
    let mut command = Command::new("tshark");
    command.arg("-r").arg(path).arg("-n");
    for protocol in ["ip", "udp", "tcp"] {
        command.arg("-o").arg(format!("{protocol}.check_checksum:TRUE"));
    }
    command.args(extra);
    let Output { status, stdout, stderr } = match command.output() {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    if !status.success() {
        return Err(io::Error::other(format!(
            "tshark failed ({status}): {}",
            String::from_utf8_lossy(&stderr).trim()
        )));
    }
    String::from_utf8(stdout).map(Some).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Decodes the capture at `path` with tshark; `Ok(None)` when tshark is not installed.
pub fn analyze(path: &Path) -> io::Result<Option<TsharkReport>> {
    let Some(summary) = tshark(path, &[])? else {
        return Ok(None);
    };
    let aggregator = format!("aggregator={AGGREGATOR}");
    let mut args = vec!["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", &aggregator];
    for field in FIELDS {
        args.extend(["-e", field]);
    }
    let Some(fields) = tshark(path, &args)? else {
        return Ok(None);
    };
    let mut report = TsharkReport::from_fields(&fields)?;
    report.summary = summary.lines().map(|l| l.trim().to_string()).collect();
    if report.summary.len() as u64 != report.frames {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("tshark listed {} frames but decoded {}", report.summary.len(), report.frames),
        ));
    }
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields output of TShark 4.0.17 for seven frames made with scapy 2.5
    /// (`e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")`,
    /// `ip = IP(src="10.0.0.1", dst="10.0.0.2", id=1)`): `e/ip/UDP(sport=1000, dport=2000)/b"hello"`;
    /// the same with `chksum=0x1234`; a DNS response cut short,
    /// `e/ip/UDP(sport=53, dport=2000)/bytes.fromhex("000181800001000100000000") + b"\x03abc"`;
    /// `t = e/ip/TCP(sport=5000, dport=80, seq=1000, ack=1, flags="A", window=8192)/b"data"` twice;
    /// the same with `seq=1104` (after a gap); and
    /// `e/ip/TCP(sport=5000, dport=80, seq=1100, ack=1, flags="A", window=8192)/b"gap!"`,
    /// filling the gap 1 ms later. These are [`FRAMES`], 1 ms apart.
    const FIELDS_OUTPUT: &str = "1\t\t1\t1\t\t\t\t\t\t\t\t\n\
        2\t\t1\t0\t\t\t\t\t\t8388608\t16777216\tBad checksum [should be 0x9c47]\n\
        3\t[Malformed Packet: DNS]\u{1f}_ws.malformed\t1\t1\t\t\t\t\t\t8388608\t117440512\t\
        Malformed Packet (Exception occurred)\n\
        4\t\t1\t\t1\t\t\t\t\t\t\t\n\
        5\t\t1\t\t1\t\t1\t\t\t4194304\t33554432\tThis frame is a (suspected) retransmission\n\
        6\t\t1\t\t1\t\t\t\t\t6291456\t33554432\tPrevious segment(s) not captured (common at capture start)\n\
        7\t\t1\t\t1\t\t\t\t1\t6291456\t33554432\tThis frame is a (suspected) out-of-order segment\n";

    /// The frames of [`FIELDS_OUTPUT`], as scapy built them.
    const FRAMES: [&str; 7] = [
        "02000000000202000000000108004500002100010000401166c90a0000010a00000203e807d0000d9c4768656c6c6f",
        "02000000000202000000000108004500002100010000401166c90a0000010a00000203e807d0000d123468656c6c6f",
        "02000000000202000000000108004500002c00010000401166be0a0000010a000002003507d00018fc6e\
         00018180000100010000000003616263",
        "02000000000202000000000108004500002c00010000400666c90a0000010a00000213880050000003e8\
         00000001501020008b4a000064617461",
        "02000000000202000000000108004500002c00010000400666c90a0000010a00000213880050000003e8\
         00000001501020008b4a000064617461",
        "02000000000202000000000108004500002c00010000400666c90a0000010a000002138800500000045\
         0000000015010200083d000006d6f7265",
        "02000000000202000000000108004500002c00010000400666c90a0000010a0000021388005000000\
         44c00000001501020008c26000067617021",
    ];

    #[test]
    fn counts_fields_output() {
        let report = TsharkReport::from_fields(FIELDS_OUTPUT).unwrap();
        assert_eq!(report.frames, 7);
        assert_eq!(report.malformed, 1);
        assert_eq!(report.bad_checksums, 1);
        assert_eq!(report.tcp_retransmissions, 1);
        assert_eq!(report.expert_errors_and_warnings, 2);
        assert_eq!(report.sequence_warnings, 2);
        assert_eq!(report.tcp_out_of_order, 1);
        assert_eq!(
            report.problems,
            ["frame 2: Bad checksum [should be 0x9c47]", "frame 3: Malformed Packet (Exception occurred)"]
        );
        assert!(!report.is_clean());
    }

    #[test]
    fn rejects_unexpected_output() {
        assert!(TsharkReport::from_fields("1\t2\n").is_err());
        assert_eq!(TsharkReport::from_fields("").unwrap(), TsharkReport::default());
    }

    use crate::sim::testkit::{mac, test_frame};
    use crate::sim::{LinkConfig, Network};
    use crate::time::Duration;
    use crate::wire::EthernetAddress;
    use std::path::PathBuf;

    /// Removes the file when the test ends, passed or not.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> TempFile {
            TempFile(std::env::temp_dir().join(format!("sluice-{name}-{}.pcap", std::process::id())))
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// Sends `frames` from port 1 to port 2 of a clean segment, capturing to `path`.
    fn capture(path: &Path, frames: &[Vec<u8>]) {
        let mut net = Network::new(1);
        let seg = net.add_segment(LinkConfig::default());
        let a = net.add_port(seg, mac(1));
        let b = net.add_port(seg, mac(2));
        net.capture_to_file(path).unwrap();
        for frame in frames {
            assert!(net.device(a).send(frame));
            net.advance(net.now() + Duration::from_millis(1));
            while net.device(b).recv().is_some() {}
        }
        net.finish_capture().unwrap();
    }

    #[test]
    fn valid_frames_decode_cleanly() {
        let file = TempFile::new("tshark-valid");
        let mut frames: Vec<Vec<u8>> =
            (0..20).map(|seq| test_frame(mac(2), mac(1), seq, 60 + seq as usize)).collect();
        frames.push(test_frame(EthernetAddress::BROADCAST, mac(1), 20, 1514));
        capture(&file.0, &frames);
        let Some(report) = analyze(&file.0).unwrap() else {
            eprintln!("tshark is not installed: skipped");
            return;
        };
        assert_eq!(report.frames, 21);
        assert!(report.is_clean(), "{report}");
        assert_eq!((report.sequence_warnings, report.tcp_retransmissions), (0, 0));
        assert_eq!(report.summary.len(), 21);
        assert!(
            report.summary[0].starts_with("1 0.000000000 02:00:00:00:00:01 → 02:00:00:00:00:02 0x88b5 60"),
            "{}",
            report.summary[0]
        );
        assert!(report.summary[20].contains("ff:ff:ff:ff:ff:ff 0x88b5 1514"), "{}", report.summary[20]);
    }

    #[test]
    fn finds_what_tshark_objects_to() {
        let file = TempFile::new("tshark-faults");
        let frames: Vec<Vec<u8>> = FRAMES.iter().map(|h| hex::decode(h).unwrap()).collect();
        capture(&file.0, &frames);
        let Some(report) = analyze(&file.0).unwrap() else {
            eprintln!("tshark is not installed: skipped");
            return;
        };
        let expected = TsharkReport {
            summary: report.summary.clone(),
            ..TsharkReport::from_fields(FIELDS_OUTPUT).unwrap()
        };
        assert_eq!(report, expected);
        assert!(report.summary[1].ends_with("[UDP CHECKSUM INCORRECT]"), "{}", report.summary[1]);
    }

    #[test]
    fn reports_a_file_tshark_cannot_read() {
        let file = TempFile::new("tshark-garbage");
        std::fs::write(&file.0, b"not a capture").unwrap();
        match analyze(&file.0) {
            Ok(None) => eprintln!("tshark is not installed: skipped"),
            Ok(Some(report)) => panic!("read garbage as {report}"),
            Err(err) => assert!(err.to_string().contains("tshark failed"), "{err}"),
        }
    }
}
