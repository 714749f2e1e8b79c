//! Client activity: clients added, updated and merged, and their contact details
//! changed (sent as before/after snapshots).

use fastrand::Rng;
use serde_json::{Value, json};

use crate::events::{Changes, Draft, Kind, Moment, change, client_ref, redraw, redraw_by};
use crate::firm::{self, pick};
use crate::names::{self, plain};
use crate::people::Who;
use crate::vocab;
use crate::world::{ClientState, INTAKE_BOT, World};

impl World {
    pub fn client_created(&mut self, rng: &mut Rng, m: &Moment) -> Draft {
        let bot = rng.u8(..10) < if m.local.after_hours() { 7 } else { 2 };
        let who = if bot { Who::Bot(INTAKE_BOT) } else { Who::Staff(self.pick_staff(rng)) };
        let (first, last) = World::new_name(rng);
        let client = firm::new_client(rng, self.next_client, first, last);
        self.next_client += 1;
        let language = if rng.u8(..10) < 7 { 0 } else { rng.usize(..vocab::LANGUAGES.len()) };
        let state = ClientState { client, language, contact_method: rng.usize(..vocab::CONTACT_METHODS.len()) };
        let slot = self.insert_client(rng, state);
        self.last_new_client = Some(slot);
        let client = &self.clients[slot].client;
        let source = if bot { "Web intake form" } else { pick(rng, vocab::REFERRAL_SOURCES) };
        Draft::new(Kind::ClientCreated, who, format!("Added client {}", client.name))
            .related([client_ref(client)])
            .metadata(json!({
                "source": source,
                "preferred_language": vocab::LANGUAGES[language],
                "email": client.email,
                "phone": client.phone,
            }))
    }

    pub fn client_updated(&mut self, rng: &mut Rng) -> Draft {
        let k = self.pick_client(rng);
        let who = if rng.u8(..100) < 12 { Who::Api("api_zapier", "Zapier") } else { Who::Staff(self.pick_staff(rng)) };
        let c = &mut self.clients[k];
        let (label, changes) = match rng.u8(..5) {
            0 => {
                let before = c.language;
                c.language = (before + 1 + rng.usize(..vocab::LANGUAGES.len() - 1)) % vocab::LANGUAGES.len();
                (
                    "preferred language",
                    vec![change("preferred_language", vocab::LANGUAGES[before], vocab::LANGUAGES[c.language])],
                )
            }
            1 => {
                let before = c.contact_method;
                c.contact_method =
                    (before + 1 + rng.usize(..vocab::CONTACT_METHODS.len() - 1)) % vocab::CONTACT_METHODS.len();
                let (b, a) = (vocab::CONTACT_METHODS[before], vocab::CONTACT_METHODS[c.contact_method]);
                ("preferred contact method", vec![change("preferred_contact_method", b, a)])
            }
            2 => {
                let first = pick(rng, vocab::CLIENT_TAGS);
                let second = redraw(&first, || pick(rng, vocab::CLIENT_TAGS));
                ("tags", vec![change("tags", json!([first]), json!([first, second]))])
            }
            3 => ("referral source", vec![change("referral_source", Value::Null, pick(rng, vocab::REFERRAL_SOURCES))]),
            _ => {
                let dob = format!("{}-{:02}-{:02}", rng.u16(1940..2005), rng.u8(1..13), rng.u8(1..29));
                let opt_in = rng.bool();
                (
                    "date of birth and marketing consent",
                    vec![change("date_of_birth", Value::Null, dob), change("marketing_opt_in", !opt_in, opt_in)],
                )
            }
        };
        let client = &self.clients[k].client;
        Draft::new(Kind::ClientUpdated, who, format!("Updated {label} for {}", client.name))
            .related([client_ref(client)])
            .changes(Changes::List(changes))
    }

    /// Contact details, sent as before/after snapshots (nested `address`).
    pub fn contact_changed(&mut self, rng: &mut Rng) -> Draft {
        let k = self.pick_client(rng);
        let portal = rng.u8(..10) < 2;
        let who =
            if portal { Who::System("sys_client_portal", "Client Portal") } else { Who::Staff(self.pick_staff(rng)) };
        let snapshot = |c: &crate::firm::Client| {
            json!({
                "email": c.email,
                "phone": c.phone,
                "address": {"street": c.address.street, "city": c.address.city, "state": c.address.state, "zip": c.address.zip},
            })
        };
        let before = snapshot(&self.clients[k].client);
        let c = &mut self.clients[k].client;
        // Each kind of update changes at least one value: the phone number always.
        let what = match rng.u8(..4) {
            0 => {
                let area = c.phone[2..5].to_string();
                c.phone = redraw(&c.phone, || firm::new_phone(rng, &area));
                "phone number".to_string()
            }
            1 => {
                let (first, last) = c.name.split_once(' ').unwrap_or((c.name.as_str(), ""));
                let (first, last) = (names::ascii_fold(first), names::ascii_fold(last));
                c.email = redraw(&c.email, || {
                    let domain = pick(rng, names::EMAIL_DOMAINS);
                    format!("{first}.{last}{}@{domain}", rng.u8(1..99))
                });
                "email address".to_string()
            }
            2 => {
                let (address, area) = redraw_by(|(a, _)| *a == c.address, || firm::new_address(rng));
                let moved = format!("mailing address (moved to {}, {})", address.city, address.state);
                c.address = address;
                if rng.bool() {
                    c.phone = redraw(&c.phone, || firm::new_phone(rng, area));
                }
                moved
            }
            _ => {
                let area = c.phone[2..5].to_string();
                c.phone = redraw(&c.phone, || firm::new_phone(rng, &area));
                c.email = format!("{}@{}", names::ascii_fold(&c.name), pick(rng, names::EMAIL_DOMAINS));
                "phone number and email address".to_string()
            }
        };
        let after = snapshot(c);
        let by = if portal { " via the client portal" } else { "" };
        Draft::new(Kind::ContactChanged, who, format!("Updated {what} for {}{by}", c.name))
            .related([client_ref(c)])
            .changes(Changes::Snapshots(before, after))
    }

    pub fn client_merged(&mut self, rng: &mut Rng) -> Draft {
        let k = self.pick_client(rng);
        let actor = self.pick_staff(rng);
        let kept = &self.clients[k].client;
        let dup_id = format!("cl_{}", self.next_client);
        self.next_client += 1;
        let unaccented = plain(&kept.name);
        let dup_name = if unaccented != kept.name {
            unaccented
        } else {
            let (first, last) = kept.name.split_once(' ').unwrap_or((kept.name.as_str(), ""));
            match rng.u8(..3) {
                0 => format!("{}. {last}", first.chars().next().unwrap_or('X')),
                1 => kept.name.to_uppercase(),
                _ => format!("{last}, {first}"),
            }
        };
        let description = format!("Merged duplicate client {dup_name} ({dup_id}) into {}", kept.name);
        Draft::new(Kind::ClientMerged, Who::Staff(actor), description)
            .related([client_ref(kept), json!({"type": "client", "id": dup_id, "name": dup_name})])
            .metadata(json!({
                "kept_id": kept.id,
                "merged_id": dup_id,
                "moved": {"cases": rng.u8(..3), "communications": rng.u8(1..40), "documents": rng.u8(..25)},
            }))
    }
}
