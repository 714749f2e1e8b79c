//! Communications with clients: SMS and email both ways, calls both ways, and calls
//! placed by the firm's AI agents. Each names the client, the case when there is one,
//! and the communication record itself.

use fastrand::Rng;
use serde_json::{Value, json};

use crate::events::{Draft, Kind, Moment, client_ref};
use crate::firm::pick;
use crate::people::{SYSTEM, Who};
use crate::schedule::business_day;
use crate::vocab::{self, duration, fill, first_name, preview};
use crate::world::{INTAKE_BOT, INVOICES, REMINDERS, World};

const SMS_PROVIDER: &str = "Twilio";
const PHONE_PROVIDER: &str = "RingCentral";
const EMAIL_PROVIDER: &str = "Microsoft 365";

/// Who a communication is with.
struct Party {
    case: Option<usize>,
    client: usize,
    /// The staff member on the firm's side.
    staff: usize,
}

impl World {
    /// A case's client (most of the time), or a client with no case in view.
    fn party(&self, rng: &mut Rng) -> Party {
        if rng.u8(..10) < 7 {
            let case = self.pick_case(rng);
            if let Some(client) = self.case_client(case) {
                return Party { case: Some(case), client, staff: self.staff_for_case(rng, case) };
            }
        }
        Party { case: None, client: self.pick_client(rng), staff: self.pick_staff(rng) }
    }

    /// The client, the case, then the communication record.
    fn comm_refs(&self, p: &Party, id: String, name: String) -> Vec<Value> {
        let mut refs = vec![client_ref(&self.clients[p.client].client)];
        refs.extend(p.case.map(|c| self.cases[c].reference()));
        refs.push(json!({"type": "communication", "id": id, "name": name}));
        refs
    }

    /// Fills a message template for a party.
    fn text(&self, template: &str, p: &Party) -> String {
        let client = first_name(&self.clients[p.client].client.name);
        let staff = first_name(&self.staff[p.staff].staff.name);
        let case = p.case.map_or("your matter", |c| self.cases[c].case.name.as_str());
        fill(template, client, staff, &self.short_name, case)
    }

    pub fn sms(&mut self, rng: &mut Rng, m: &Moment, kind: Kind) -> Draft {
        let p = self.party(rng);
        let client = &self.clients[p.client].client;
        let (who, text, description, name, direction, from, to) = if kind == Kind::SmsSent {
            let bot = rng.u8(..10) < if m.local.after_hours() { 7 } else { 2 };
            let text = if bot {
                let time = pick(rng, &["9:30 AM", "11:00 AM", "2:00 PM", "3:30 PM"]);
                let date = business_day(m.local.day, rng.i64(1..5));
                format!(
                    "Hi {}, this is a reminder from {}: your appointment is on {date} at {time}. Reply C to confirm.",
                    first_name(&client.name),
                    self.short_name
                )
            } else {
                self.text(pick(rng, vocab::SMS_OUT), &p)
            };
            let who = if bot { Who::Bot(REMINDERS) } else { Who::Staff(p.staff) };
            (
                who,
                text,
                format!("SMS sent to {}", client.name),
                format!("SMS to {}", client.name),
                "outbound",
                &self.phone,
                &client.phone,
            )
        } else {
            let text = pick(rng, vocab::SMS_IN).to_string();
            (
                SYSTEM,
                text,
                format!("SMS received from {}", client.name),
                format!("SMS from {}", client.name),
                "inbound",
                &client.phone,
                &self.phone,
            )
        };
        let metadata = json!({
            "direction": direction,
            "from": from,
            "to": to,
            "provider": SMS_PROVIDER,
            "message_preview": preview(&text, 120),
            "segments": text.chars().count().div_ceil(153).max(1),
            "status": "delivered",
        });
        Draft::new(kind, who, description)
            .related(self.comm_refs(&p, format!("sms_{}", m.n + 1), name))
            .metadata(metadata)
    }

    pub fn email(&mut self, rng: &mut Rng, m: &Moment, kind: Kind) -> Draft {
        let p = self.party(rng);
        let client = &self.clients[p.client].client;
        let staff = &self.staff[p.staff].staff;
        let (who, subject, body, from, to) = if kind == Kind::EmailSent {
            let bot = rng.u8(..100) < if m.local.after_hours() { 60 } else { 15 };
            let (subject, body) = if bot {
                // The invoice and the consultation confirmation go out by themselves.
                vocab::EMAIL_OUT[if rng.bool() { 7 } else { 5 }]
            } else {
                pick(rng, vocab::EMAIL_OUT)
            };
            let (who, from) = match (bot, subject.starts_with("Invoice")) {
                (true, true) => (Who::Bot(INVOICES), format!("billing@{}", self.domain)),
                (true, false) => (Who::Bot(INTAKE_BOT), format!("intake@{}", self.domain)),
                (false, _) => (Who::Staff(p.staff), staff.email.clone()),
            };
            (who, subject, body, from, client.email.clone())
        } else {
            let (subject, body) = pick(rng, vocab::EMAIL_IN);
            let to = if p.case.is_some() { staff.email.clone() } else { format!("intake@{}", self.domain) };
            (SYSTEM, subject, body, client.email.clone(), to)
        };
        let (subject, body) = (self.text(subject, &p), self.text(body, &p));
        let (direction, description) = if kind == Kind::EmailSent {
            ("outbound", format!("Email sent to {}: {subject}", client.name))
        } else {
            ("inbound", format!("Email received from {}: {subject}", client.name))
        };
        let attachments = match subject.as_str() {
            "Engagement letter" | "Draft for your review" | "Signed forms attached" | "Medical records" => rng.u8(1..4),
            s if s.starts_with("Invoice") => 1,
            _ => u8::from(rng.u8(..5) == 0),
        };
        let metadata = json!({
            "direction": direction,
            "from": from,
            "to": to,
            "subject": subject,
            "message_preview": preview(&body, 120),
            "attachments": attachments,
            "provider": EMAIL_PROVIDER,
            "thread_id": format!("thr_{:010x}", rng.u64(..1 << 40)),
        });
        Draft::new(kind, who, description)
            .related(self.comm_refs(&p, format!("email_{}", m.n + 1), subject))
            .metadata(metadata)
    }

    pub fn call(&mut self, rng: &mut Rng, m: &Moment, kind: Kind) -> Draft {
        let p = self.party(rng);
        let client = &self.clients[p.client].client;
        let talk = |rng: &mut Rng| {
            if rng.u8(..100) < 15 { rng.u32(900..3000) } else { rng.u32(45..900) }
        };
        let (who, outcome, seconds, description, direction, from, to) = if kind == Kind::CallMade {
            let (outcome, seconds, how) = match rng.u8(..100) {
                0..65 => {
                    let s = talk(rng);
                    ("connected", s, format!("({})", duration(s)))
                }
                65..85 => ("voicemail", rng.u32(15..75), "left voicemail".to_string()),
                _ => ("no_answer", 0, "no answer".to_string()),
            };
            let description = if outcome == "connected" {
                format!("Call to {} {how}", client.name)
            } else {
                format!("Call to {}: {how}", client.name)
            };
            (Who::Staff(p.staff), outcome, seconds, description, "outbound", &self.phone, &client.phone)
        } else {
            let (who, outcome, seconds, description) = match rng.u8(..100) {
                0..78 => {
                    let s = talk(rng);
                    (Who::Staff(p.staff), "answered", s, format!("Call from {} ({})", client.name, duration(s)))
                }
                78..90 => {
                    let s = rng.u32(10..90);
                    (SYSTEM, "voicemail", s, format!("Voicemail from {} ({})", client.name, duration(s)))
                }
                _ => (SYSTEM, "missed", 0, format!("Missed call from {}", client.name)),
            };
            (who, outcome, seconds, description, "inbound", &client.phone, &self.phone)
        };
        let metadata = json!({
            "direction": direction,
            "from": from,
            "to": to,
            "duration_seconds": seconds,
            "outcome": outcome,
            "provider": PHONE_PROVIDER,
            "recorded": seconds > 0 && direction == "inbound",
        });
        let name = format!("Call with {}", client.name);
        Draft::new(kind, who, description)
            .related(self.comm_refs(&p, format!("call_{}", m.n + 1), name))
            .metadata(metadata)
    }

    pub fn ai_call(&mut self, rng: &mut Rng, m: &Moment) -> Draft {
        let p = self.party(rng);
        let purpose = pick(rng, vocab::AI_CALL_PURPOSES);
        let agent = match purpose {
            "Appointment reminder" | "Court date reminder" => REMINDERS,
            "Payment reminder" => INVOICES,
            _ => INTAKE_BOT,
        };
        let by_staff = rng.u8(..100) < if m.local.after_hours() { 5 } else { 25 };
        let who = if by_staff { Who::Staff(p.staff) } else { Who::Bot(agent) };
        let outcome = pick(rng, vocab::AI_CALL_OUTCOMES);
        let seconds = match outcome {
            "completed" => rng.u32(40..420),
            "transferred_to_staff" => rng.u32(60..300),
            "voicemail" => rng.u32(15..40),
            _ => 0,
        };
        let client = &self.clients[p.client].client;
        let metadata = json!({
            "agent": self.automations[agent].name,
            "purpose": purpose,
            "outcome": outcome,
            "duration_seconds": seconds,
            "to": client.phone,
            "from": self.phone,
            "transcript_available": seconds > 0,
        });
        let description = format!("AI call to {}: {}", client.name, purpose.to_lowercase());
        let name = format!("AI call with {}", client.name);
        Draft::new(Kind::AiCall, who, description)
            .related(self.comm_refs(&p, format!("call_{}", m.n + 1), name))
            .metadata(metadata)
    }
}
