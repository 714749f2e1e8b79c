//! Our notes read by an implementation of C2SP signed notes that is not ours
//! (Cloudflare's `signed_note` crate, a port of Go's `sumdb/note`).

use ed25519_dalek::SigningKey;
use signed_note::{Note, StandardVerifier, VerifierList};

use super::*;

fn account() -> AccountId {
    "0190a0b0-0000-7000-8000-000000000042".parse().unwrap()
}

fn key(seed: u8) -> ChainKey {
    ChainKey::from_signing_key(SigningKey::from_bytes(&[seed; 32]))
}

fn verifiers(vkey: &str) -> VerifierList {
    VerifierList::new(vec![Box::new(StandardVerifier::new(vkey).unwrap())])
}

#[test]
fn the_note_is_exactly_the_tlog_checkpoint_text_and_one_signature_line() {
    let root = ChainHash([0xab; 32]);
    let note = sign_note(&key(1), account(), 42, &root);
    let name = "casetrail/0190a0b0-0000-7000-8000-000000000042";
    let (text, sig_line) = note.split_once("\n\n").unwrap();
    assert_eq!(format!("{text}\n"), format!("{name}\n42\n{}\n", STANDARD.encode([0xab; 32])));
    let sig = sig_line.strip_prefix(&format!("\u{2014} {name} ")).unwrap().strip_suffix('\n').unwrap();
    let sig = STANDARD.decode(sig).unwrap();
    assert_eq!(sig.len(), 68);
    assert_eq!(&sig[..4], &key_hash(name, &key(1).verifying_key()));
}

#[test]
fn another_implementation_verifies_our_notes() {
    let k = key(2);
    let vkey = verifier_key(account(), &k.verifying_key());
    // The key id as the other crate computes it from the name and typed key.
    let mut typed = vec![1u8];
    typed.extend_from_slice(&k.verifying_key().to_bytes());
    let theirs = signed_note::key_id(&origin(account()), &typed);
    assert_eq!(theirs.to_be_bytes(), key_hash(&origin(account()), &k.verifying_key()));

    for size in [1u64, 2, 1000, u64::MAX] {
        let root = ChainHash([size as u8; 32]);
        let note = sign_note(&k, account(), size, &root);
        let parsed = Note::from_bytes(note.as_bytes()).unwrap();
        let (verified, unverified) = parsed.verify(&verifiers(&vkey)).unwrap();
        assert_eq!(verified.len(), 1);
        assert!(unverified.is_empty());
        assert_eq!(parsed.text(), note_text(account(), size, &root).as_bytes());
        assert_eq!(parsed.to_bytes(), note.as_bytes(), "the other crate writes the same bytes back");
        assert_eq!(verify_note(&note, account(), size, &root, &k.verifying_key()), Ok(()));
    }
}

#[test]
fn both_implementations_refuse_a_changed_note() {
    let k = key(3);
    let vkey = verifier_key(account(), &k.verifying_key());
    let root = ChainHash([7; 32]);
    let note = sign_note(&k, account(), 10, &root);

    let other_root = note.replacen(&STANDARD.encode([7u8; 32]), &STANDARD.encode([8u8; 32]), 1);
    let other_size = note.replacen("\n10\n", "\n11\n", 1);
    for forged in [&other_root, &other_size] {
        assert!(Note::from_bytes(forged.as_bytes()).unwrap().verify(&verifiers(&vkey)).is_err());
    }
    let bad_root = ChainHash([8; 32]);
    assert!(verify_note(&other_root, account(), 10, &bad_root, &k.verifying_key()).is_err());
    assert!(verify_note(&other_size, account(), 11, &root, &k.verifying_key()).is_err());
    // The right note does not pass for another tree head.
    assert!(verify_note(&note, account(), 11, &root, &k.verifying_key()).is_err());

    // Signed by another key: unknown to the verifier, so unverified.
    let outsider = sign_note(&key(4), account(), 10, &root);
    assert!(Note::from_bytes(outsider.as_bytes()).unwrap().verify(&verifiers(&vkey)).is_err());
    assert_eq!(
        verify_note(&outsider, account(), 10, &root, &k.verifying_key()),
        Err("the note has no signature by the checkpoint's key".into())
    );
}
