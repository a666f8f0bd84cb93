//! Fork safety, in its own test binary with its tests run one at a time, so that fork()
//! never copies another test mid-way: parent and child must never produce the same output.

use pqhsm_qrng::sim::serial::{SerialOptions, SerialSim};
use pqhsm_qrng::{RngConfig, Service};
use std::sync::Mutex;
use std::time::Duration;

/// Held by each test: one fork at a time, no other test running meanwhile.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn child_output(svc: &Service) -> [u8; 32] {
    let mut fds = [0; 2];
    // SAFETY: pipe() fills the two-element array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only draws 32 bytes, writes them to the pipe and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let mut buf = [0u8; 32];
        let ok = svc.fill(&mut buf).is_ok();
        // SAFETY: writes a live buffer to the pipe's write end, then exits without unwinding.
        unsafe {
            libc::write(fds[1], buf.as_ptr().cast(), if ok { 32 } else { 0 });
            libc::_exit(0);
        }
    }
    let mut buf = [0u8; 32];
    // SAFETY: reads into a live buffer from the pipe's read end; waits for the child.
    unsafe {
        libc::close(fds[1]);
        assert_eq!(
            libc::read(fds[0], buf.as_mut_ptr().cast(), 32),
            32,
            "child produced no output"
        );
        libc::close(fds[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    buf
}

#[test]
fn parent_and_children_never_repeat_output() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let svc = Service::new(&RngConfig::default());
    let mut warm = [0u8; 32];
    svc.fill(&mut warm).unwrap();
    let first_child = child_output(&svc);
    let second_child = child_output(&svc);
    let mut parent = [0u8; 32];
    svc.fill(&mut parent).unwrap();
    assert_ne!(
        first_child, parent,
        "child repeated the parent's next output"
    );
    assert_ne!(
        first_child, second_child,
        "two children from the same state repeated"
    );
    assert_ne!(first_child, [0u8; 32]);
}

#[test]
fn child_of_a_process_with_a_device_thread_reseeds_and_serves() {
    // The parent's background thread is reading a device when the child is born; the child
    // has no such thread and must neither wait for it nor repeat the parent's stream.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let dev = SerialSim::start(&dir.path().join("ttyQRNG"), SerialOptions::default()).unwrap();
    let text = format!(
        "[[rng.sources]]\nname = \"primary\"\nkind = \"serial\"\npath = \"{}\"\n\
         min_entropy_per_byte = 7.0\n",
        dev.path().display()
    );
    let cfg = RngConfig::from_conf_str(&text).unwrap();
    let svc = Service::new(&cfg);
    svc.settle(Duration::from_secs(5)).unwrap();
    assert_eq!(svc.status().drbg_seeded_from, "os + primary (serial)");
    let child = child_output(&svc);
    let mut parent = [0u8; 32];
    svc.fill(&mut parent).unwrap();
    assert_ne!(child, parent);
}
