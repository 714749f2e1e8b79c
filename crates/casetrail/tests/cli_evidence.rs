//! `casetrail verify --evidence` and the independent script of docs/VERIFYING.md
//! (`docs/verify_evidence.py`), on real evidence zips, intact and tampered: an
//! event's text changed, a proof dropped or altered, the root altered, the
//! checkpoint signed by another key.

mod cli_support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command as Std;

use casetrail_app::signing::Keys;
use casetrail_core::integrity::{ChainKey, Checkpoint};
use casetrail_core::query::BrowseQuery;
use cli_support::TestDb;
use serde_json::{Value, json};

/// The entries of a zip, in order, as text.
type Entries = Vec<(String, String)>;

struct Evidence {
    db: TestDb,
    entries: Entries,
    public_key: String,
    account: String,
}

/// An account of 40 events (every third on case c_7), and the evidence zip of case c_7.
fn evidence() -> Evidence {
    let db = TestDb::new();
    let account = db.create_account_id("Evidence LLP", "a@evidence.example");
    let start = casetrail_core::Timestamp::now().minus_days(1);
    let events: Vec<Value> = (0..40)
        .map(|i| {
            let at = start.plus_millis(i * 1000).to_string();
            let case = if i % 3 == 0 { "c_7" } else { "c_8" };
            json!({"actor": {"id": "u1", "name": "Jane Doe"}, "activity": "case.updated", "occurred_at": at,
                   "description": format!("step {i} of José's matter"),
                   "related": [{"type": "case", "id": case, "name": "Smith v. Jones"}],
                   "changes": [{"field": "stage", "before": i, "after": {"n": i + 1}}]})
        })
        .collect();
    db.append(&account, events);
    let keys = Keys::ephemeral();
    let store = db.store();
    let id = account.parse().unwrap();
    let query = BrowseQuery::from_params(&[("case".into(), "c_7".into())], &jiff::tz::TimeZone::UTC, &[]).unwrap();
    let bytes = db.block_on(async {
        let checkpoint = casetrail_app::integrity::checkpoint_now(store.as_ref(), &keys, id).await.unwrap();
        let listed = keys.local_ring().public_keys();
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let outcome = casetrail_app::evidence::write_evidence(
                &rt,
                store.as_ref(),
                id,
                &query,
                (&checkpoint, &listed),
                &mut out,
            );
            assert!(outcome.error.is_none(), "{:?}", outcome.error);
            assert_eq!(outcome.rows, 14);
            out
        })
        .await
        .unwrap()
    });
    let public_key = keys.current().public_key_base64();
    Evidence { entries: read_zip(&bytes), db, public_key, account }
}

fn read_zip(bytes: &[u8]) -> Entries {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().unwrap().to_string(), text)
        })
        .collect()
}

fn write_zip(path: &Path, entries: &Entries) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, text) in entries {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

fn edit(entries: &Entries, name: &str, change: impl Fn(&str) -> String) -> Entries {
    entries.iter().map(|(n, t)| (n.clone(), if n == name { change(t) } else { t.clone() })).collect()
}

/// Both checkers on `entries`: `(exit code, stdout)` of casetrail, then of the script.
fn check(e: &Evidence, entries: &Entries, key: &str) -> [(i32, String); 2] {
    let file = e.db.dir().join("evidence.zip");
    write_zip(&file, entries);
    let ours = e.db.run(&["verify"], &["--evidence", file.to_str().unwrap(), "--public-key", key]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verify_evidence.py");
    let theirs = Std::new("python3").arg(script).arg(&file).args(["--public-key", key]).output().expect("python3 runs");
    let stderr = String::from_utf8_lossy(&theirs.stderr);
    assert!(!stderr.contains("Traceback"), "{stderr}");
    [ours, theirs].map(|out| (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap()))
}

fn events(entries: &Entries) -> Vec<Value> {
    let text = &entries.iter().find(|(n, _)| n == "events.jsonl").unwrap().1;
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn intact_evidence_verifies_with_casetrail_and_the_script() {
    let e = evidence();
    let names: Vec<&str> = e.entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["README.txt", "checkpoint.json", "public-keys.json", "events.jsonl", "proofs.jsonl"]);
    let [ours, theirs] = check(&e, &e.entries, &e.public_key);
    assert_eq!(ours.0, 0, "{}", ours.1);
    assert!(ours.1.starts_with("evidence intact: 14 events, each included in the tree of size 40"), "{}", ours.1);
    assert_eq!(theirs, (0, format!("evidence intact: 14 events under root {} of tree size 40\n", root(&e.entries))));
}

fn root(entries: &Entries) -> String {
    let cp: Value = serde_json::from_str(&entries.iter().find(|(n, _)| n == "checkpoint.json").unwrap().1).unwrap();
    cp["root_hash"].as_str().unwrap().to_string()
}

#[test]
fn a_changed_event_is_named_by_both() {
    let e = evidence();
    let target = events(&e.entries)[3]["id"].as_str().unwrap().to_string();
    let changed = edit(&e.entries, "events.jsonl", |t| t.replacen("step 30 of", "step 31 of", 1));
    assert_ne!(changed, e.entries, "the edit hit an event");
    let [ours, theirs] = check(&e, &changed, &e.public_key);
    assert_eq!(ours.0, 1);
    assert_eq!(
        ours.1,
        format!("event {target}: hash_mismatch: the hash does not follow from the event's content and prev_hash\n")
    );
    assert_eq!(
        theirs,
        (1, format!("event {target}: hash_mismatch: the hash does not follow from the event's content\n"))
    );
}

#[test]
fn a_dropped_or_altered_proof_is_named_by_both() {
    let e = evidence();
    let all = events(&e.entries);
    let last = all.last().unwrap()["id"].as_str().unwrap().to_string();
    let dropped = edit(&e.entries, "proofs.jsonl", |t| {
        let lines: Vec<&str> = t.lines().collect();
        lines[..lines.len() - 1].iter().map(|l| format!("{l}\n")).collect()
    });
    for (code, out) in check(&e, &dropped, &e.public_key) {
        assert_eq!((code, out), (1, format!("event {last}: missing: no inclusion proof\n")));
    }

    let first = all[0]["id"].as_str().unwrap().to_string();
    let altered = edit(&e.entries, "proofs.jsonl", |t| {
        let mut lines: Vec<Value> = t.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let path = lines[0]["inclusion_path"].as_array_mut().unwrap();
        path[1] = json!("00".repeat(32));
        lines.iter().map(|l| format!("{l}\n")).collect()
    });
    for (code, out) in check(&e, &altered, &e.public_key) {
        assert_eq!(code, 1);
        assert!(
            out.starts_with(&format!(
                "event {first}: bad_proof: the inclusion path does not lead to the checkpoint's root"
            )),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1, "{out}");
    }
}

#[test]
fn an_altered_root_or_another_key_fails_the_checkpoint() {
    let e = evidence();
    let root = root(&e.entries);
    let other_root = format!("{}{}", if root.starts_with('0') { "1" } else { "0" }, &root[1..]);
    let altered = edit(&e.entries, "checkpoint.json", |t| t.replace(&root, &other_root));
    for (code, out) in check(&e, &altered, &e.public_key) {
        assert_eq!(code, 1);
        assert!(out.starts_with("checkpoint: bad_signature: "), "{out}");
        assert_eq!(
            out.lines().filter(|l| l.contains("bad_proof")).count(),
            14,
            "no proof leads to a forged root: {out}"
        );
    }

    // The same tree head signed by someone else's key, and their key listed: the
    // pinned key refuses it.
    let cp: Checkpoint =
        serde_json::from_str(&e.entries.iter().find(|(n, _)| n == "checkpoint.json").unwrap().1).unwrap();
    let thief = ChainKey::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[9; 32]));
    let forged =
        Checkpoint::sign_with_tree(&thief, cp.account_id, (cp.seq, cp.hash), cp.root_hash.unwrap(), cp.signed_at);
    let resigned = edit(&e.entries, "checkpoint.json", |_| serde_json::to_string(&forged).unwrap());
    let resigned = edit(&resigned, "public-keys.json", |_| {
        json!([{"key_id": thief.key_id, "public_key": thief.public_key_base64()}]).to_string()
    });
    let [ours, theirs] = check(&e, &resigned, &e.public_key);
    assert_eq!(ours.0, 1);
    assert!(ours.1.starts_with("checkpoint: bad_signature: signed with an unknown key"), "{}", ours.1);
    assert_eq!(theirs, (1, "checkpoint: bad_signature: signed with a key that is not trusted\n".into()));
    // Trusting the keys inside the file instead accepts it: which is why to pin one.
    let [ours, _] = check(&e, &resigned, &thief.public_key_base64());
    assert_eq!(ours.0, 0, "{}", ours.1);
    assert!(e.account.len() == 36);
}
