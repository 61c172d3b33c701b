//! The `latchkey` binary, run as a user would: `org create`, `org list`,
//! `invite`, `migrate`, and `serve` answering and stopping cleanly on SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

fn latchkey(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("LATCHKEY_MASTER_KEY")
        .env_remove("LATCHKEY_DATABASE_URL")
        .env("LATCHKEY_LOG", "warn")
        .output()
        .unwrap()
}

fn ok_stdout(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn create_org(dir: &Path) -> Value {
    let args = [
        "org",
        "create",
        "--name",
        "Acme",
        "--admin",
        "alice@acme.example",
        "--json",
    ];
    serde_json::from_str(&ok_stdout(&latchkey(dir, &args))).unwrap()
}

#[test]
fn org_create_json_prints_the_org_and_a_one_time_enrolment_link() {
    let dir = tempfile::tempdir().unwrap();
    let created = create_org(dir.path());
    let org = created["orgId"].as_str().unwrap();
    assert!(org.starts_with("org_"));
    assert!(created["adminUserId"].as_str().unwrap().starts_with("usr_"));
    let token = created["enrolmentToken"].as_str().unwrap();
    let link = created["enrolmentLink"].as_str().unwrap();
    assert_eq!(
        link,
        format!("http://localhost:8080/enroll?org={org}&token={token}")
    );
    assert!(created["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert!(dir.path().join("latchkey.db").is_file());
    assert!(dir.path().join("master.key").is_file());
}

#[test]
fn org_list_shows_created_organisations() {
    let dir = tempfile::tempdir().unwrap();
    let created = create_org(dir.path());
    let text = ok_stdout(&latchkey(dir.path(), &["org", "list"]));
    assert!(
        text.contains("Acme") && text.contains(created["orgId"].as_str().unwrap()),
        "{text}"
    );
    let json: Value = serde_json::from_str(&ok_stdout(&latchkey(
        dir.path(),
        &["org", "list", "--json"],
    )))
    .unwrap();
    assert_eq!(json[0]["id"], created["orgId"]);
    assert_eq!(json[0]["passkeyStatus"], "inactive");
}

#[test]
fn invite_prints_a_link_for_the_new_user() {
    let dir = tempfile::tempdir().unwrap();
    let org = create_org(dir.path())["orgId"].as_str().unwrap().to_owned();
    let args = [
        "invite",
        "--org",
        &org,
        "--username",
        "bob@acme.example",
        "--role",
        "approver",
        "--json",
    ];
    let invited: Value = serde_json::from_str(&ok_stdout(&latchkey(dir.path(), &args))).unwrap();
    assert_eq!(invited["user"]["username"], "bob@acme.example");
    assert_eq!(invited["user"]["role"], "approver");
    assert!(invited["link"]
        .as_str()
        .unwrap()
        .contains(&format!("/enroll?org={org}&token=")));
    let text = ok_stdout(&latchkey(
        dir.path(),
        &["invite", "--org", &org, "--username", "carol"],
    ));
    assert!(text.contains("/enroll?org="), "{text}");
}

#[test]
fn errors_are_one_clear_line_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = latchkey(
        dir.path(),
        &["invite", "--org", "nonsense", "--username", "bob"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let bad_config = Command::new(BIN)
        .args(["org", "list", "--data-dir"])
        .arg(dir.path())
        .env("LATCHKEY_LISTEN", "nowhere")
        .output()
        .unwrap();
    assert_eq!(bad_config.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_config.stderr).contains("listen"));
}

#[test]
fn migrate_applies_migrations_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = ok_stdout(&latchkey(dir.path(), &["migrate"]));
    assert!(text.contains("sqlite") && text.contains("0001"), "{text}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A raw HTTP/1.1 GET, so the test needs no HTTP client.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).ok()?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).ok()?;
    Some(reply)
}

fn wait_for_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn serve_answers_healthz_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .env("LATCHKEY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let reply = loop {
        if let Some(reply) = http_get(port, "/healthz") {
            break reply;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited early"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("{\"status\":\"ok\"}"), "{reply}");
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let status = wait_for_exit(&mut child, Duration::from_secs(20));
    if status.is_none() {
        let _ = child.kill();
    }
    let status = status.expect("the server did not stop within 20 s of SIGTERM");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "exit {status:?}: {stderr}");
    assert!(dir.path().join("latchkey.db").is_file());
}

#[test]
fn org_settings_shows_and_changes_the_relying_party_and_refuses_bad_values_whole() {
    let dir = tempfile::tempdir().unwrap();
    let created = create_org(dir.path());
    let org = created["orgId"].as_str().unwrap();
    let shown: Value = serde_json::from_str(&ok_stdout(&latchkey(
        dir.path(),
        &["org", "settings", "--org", org, "--json"],
    )))
    .unwrap();
    assert_eq!(shown["rpId"], "localhost");
    let args = [
        "org",
        "settings",
        "--org",
        org,
        "--rp-id",
        "login.acme.example",
        "--origin",
        "https://login.acme.example",
        "--registration",
        "open",
        "--json",
    ];
    let changed: Value = serde_json::from_str(&ok_stdout(&latchkey(dir.path(), &args))).unwrap();
    assert_eq!(changed["rpId"], "login.acme.example");
    assert_eq!(
        changed["origins"],
        serde_json::json!(["https://login.acme.example"])
    );
    assert_eq!(changed["registrationMode"], "open");
    let bad = latchkey(
        dir.path(),
        &[
            "org",
            "settings",
            "--org",
            org,
            "--origin",
            "ftp://x/",
            "--ceremony-ttl",
            "1",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("origin") && stderr.contains("ceremonyTtlSecs"),
        "{stderr}"
    );
    let after: Value = serde_json::from_str(&ok_stdout(&latchkey(
        dir.path(),
        &["org", "settings", "--org", org, "--json"],
    )))
    .unwrap();
    assert_eq!(after["rpId"], "login.acme.example");
}

#[test]
fn the_generated_master_key_and_data_directory_are_private_and_the_key_is_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    create_org(dir.path());
    let path = dir.path().join("master.key");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A data directory the command creates is private too.
    let fresh = dir.path().join("created-here");
    create_org(&fresh);
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let key = std::fs::read_to_string(&path).unwrap();
    create_org(dir.path());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), key);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty());
}
