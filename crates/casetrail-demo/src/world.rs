//! The generator's model of the firm: who works there, where each case stands, each
//! client's contact details, which integrations and automations exist. Fixed in size
//! (new cases and clients take the place of old ones past a cap), so a stream of
//! millions of events runs in constant memory.

use std::collections::{HashMap, VecDeque};

use fastrand::Rng;
use serde_json::{Value, json};

use crate::firm::{self, Case, Client, Firm, Staff, pick};
use crate::people::Person;
use crate::{names, vocab};

/// At most this many clients and cases are live at once.
const MAX_CLIENTS: usize = 2_000;
const MAX_CASES: usize = 2_000;
/// Invited users remembered for a later removal, and automations kept.
pub(crate) const MAX_INVITED: usize = 16;
pub(crate) const MAX_AUTOMATIONS: usize = 16;

/// The built-in automations, at these indexes of [`World::automations`].
pub(crate) const INTAKE_BOT: usize = 0;
pub(crate) const REMINDERS: usize = 1;
pub(crate) const DEADLINES: usize = 2;
pub(crate) const INVOICES: usize = 3;
const BUILT_IN: &[(&str, &str)] = &[
    ("auto_intake_bot", "Intake Bot"),
    ("auto_appointment_reminders", "Appointment Reminders"),
    ("auto_deadline_tracker", "Deadline Tracker"),
    ("auto_invoice_reminders", "Invoice Reminders"),
];

#[derive(Debug, Clone)]
pub(crate) struct CaseState {
    pub case: Case,
    /// The index of its client in [`World::clients`], valid while the ids match.
    pub client: usize,
    pub assignee: usize,
    pub lifecycle: &'static [&'static str],
    pub status: usize,
    /// (date, kind) of the next deadline.
    pub deadline: Option<(String, &'static str)>,
    pub priority: usize,
    pub court: Option<usize>,
    pub judge: Option<usize>,
    pub index_number: Option<String>,
    pub deleted: bool,
}

impl CaseState {
    pub fn status(&self) -> &'static str {
        self.lifecycle[self.status]
    }

    pub fn is_closed(&self) -> bool {
        self.status + 1 >= self.lifecycle.len()
    }

    pub fn reference(&self) -> Value {
        json!({"type": "case", "id": self.case.id, "name": self.case.name})
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ClientState {
    pub client: Client,
    pub language: usize,
    pub contact_method: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Automation {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub delay_minutes: u32,
    pub channel: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Setting {
    pub id: &'static str,
    pub name: &'static str,
    pub field: &'static str,
    /// What people call the field: `payment terms`.
    pub label: &'static str,
    pub values: Vec<Value>,
    pub current: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct World {
    pub short_name: String,
    pub domain: String,
    pub phone: String,
    pub staff: Vec<Person>,
    pub clients: Vec<ClientState>,
    pub cases: Vec<CaseState>,
    pub next_client: u64,
    pub next_case: u64,
    pub next_user: u64,
    pub next_automation: u64,
    /// The newest client, who likely gets a case next.
    pub last_new_client: Option<usize>,
    pub invited: VecDeque<Staff>,
    /// A staff member made Admin for a while, to be made Member again.
    pub promoted: Option<usize>,
    /// Bit `i`: [`vocab::INTEGRATIONS`]`[i]` is connected.
    pub connected: u32,
    pub automations: Vec<Automation>,
    pub settings: Vec<Setting>,
}

/// The number at the end of an id (`cl_88` → 88).
fn number(id: &str) -> Option<u64> {
    id.rsplit('_').next()?.parse().ok()
}

impl World {
    /// The model at the start: the firm as given (a firm with no staff, clients or
    /// cases borrows those of the default demo firm).
    pub fn new(firm: &Firm, rng: &mut Rng) -> World {
        let fallback = || firm::firm(crate::DEFAULT_SEED);
        let staff = if firm.staff.is_empty() { fallback().staff } else { firm.staff.clone() };
        let clients = if firm.clients.is_empty() { fallback().clients } else { firm.clients.clone() };
        let cases =
            if firm.cases.is_empty() || firm.clients.is_empty() { fallback().cases } else { firm.cases.clone() };

        let staff: Vec<Person> = staff.into_iter().map(Person::new).collect();
        let client_index: HashMap<&str, usize> = clients.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
        let staff_index: HashMap<&str, usize> =
            staff.iter().enumerate().map(|(i, p)| (p.staff.id.as_str(), i)).collect();
        let next_client = clients.iter().filter_map(|c| number(&c.id)).max().unwrap_or(0) + 1;
        let next_case = cases.iter().filter_map(|c| number(&c.id)).max().unwrap_or(firm::FIRST_CASE_NUMBER - 1) + 1;
        let next_user = staff.iter().filter_map(|p| number(&p.staff.id)).max().unwrap_or(0) + 1;
        let cases = cases
            .into_iter()
            .map(|case| {
                let lifecycle = firm::lifecycle(case.practice_area);
                CaseState {
                    client: client_index.get(case.client_id.as_str()).copied().unwrap_or(0),
                    assignee: staff_index.get(case.assigned_to.as_str()).copied().unwrap_or(0),
                    lifecycle,
                    status: lifecycle.iter().position(|s| *s == case.status).unwrap_or(0),
                    deadline: None,
                    priority: 1,
                    court: None,
                    judge: None,
                    index_number: None,
                    deleted: false,
                    case,
                }
            })
            .collect();
        let clients = clients
            .into_iter()
            .map(|client| ClientState {
                client,
                language: if rng.u8(..10) < 7 { 0 } else { rng.usize(..vocab::LANGUAGES.len()) },
                contact_method: rng.usize(..vocab::CONTACT_METHODS.len()),
            })
            .collect();
        let automations = BUILT_IN
            .iter()
            .map(|(id, name)| Automation {
                id: (*id).to_string(),
                name: (*name).to_string(),
                enabled: true,
                delay_minutes: 60,
                channel: "SMS",
            })
            .collect();
        World {
            short_name: firm.name.trim_end_matches(" LLP").to_string(),
            domain: firm.domain.clone(),
            phone: firm.phone.clone(),
            staff,
            clients,
            cases,
            next_client,
            next_case,
            next_user,
            next_automation: BUILT_IN.len() as u64 + 1,
            last_new_client: None,
            invited: VecDeque::with_capacity(MAX_INVITED),
            promoted: None,
            // Phones, email and payments are connected from the start.
            connected: 0b1111,
            automations,
            settings: crate::admin::settings_catalog(),
        }
    }

    /// A live case, most likely an open one.
    pub fn pick_case(&self, rng: &mut Rng) -> usize {
        for _ in 0..8 {
            let i = rng.usize(..self.cases.len());
            if !self.cases[i].deleted && !self.cases[i].is_closed() {
                return i;
            }
        }
        let start = rng.usize(..self.cases.len());
        (0..self.cases.len()).map(|k| (start + k) % self.cases.len()).find(|&i| !self.cases[i].deleted).unwrap_or(0)
    }

    pub fn pick_client(&self, rng: &mut Rng) -> usize {
        rng.usize(..self.clients.len())
    }

    /// The client of a case, unless that client has since left the model.
    pub fn case_client(&self, case: usize) -> Option<usize> {
        let c = &self.cases[case];
        (self.clients.get(c.client)?.client.id == c.case.client_id).then_some(c.client)
    }

    /// The case and, when known, its client, as related records.
    pub fn case_refs(&self, case: usize) -> Vec<Value> {
        let mut refs = vec![self.cases[case].reference()];
        if let Some(k) = self.case_client(case) {
            refs.push(crate::events::client_ref(&self.clients[k].client));
        }
        refs
    }

    /// Adds a case, in place of a deleted or closed one once the model is full.
    pub fn insert_case(&mut self, rng: &mut Rng, case: CaseState) -> usize {
        if self.cases.len() < MAX_CASES {
            self.cases.push(case);
            return self.cases.len() - 1;
        }
        let mut slot = firm::FEATURED + rng.usize(..self.cases.len() - firm::FEATURED);
        for _ in 0..8 {
            let i = firm::FEATURED + rng.usize(..self.cases.len() - firm::FEATURED);
            if self.cases[i].deleted || self.cases[i].is_closed() {
                slot = i;
                break;
            }
        }
        self.cases[slot] = case;
        slot
    }

    /// Adds a client, in place of an old one once the model is full.
    pub fn insert_client(&mut self, rng: &mut Rng, client: ClientState) -> usize {
        if self.clients.len() < MAX_CLIENTS {
            self.clients.push(client);
            return self.clients.len() - 1;
        }
        let slot = firm::FEATURED + rng.usize(..self.clients.len() - firm::FEATURED);
        self.clients[slot] = client;
        slot
    }

    /// A new person's name, not necessarily unique (people share names).
    pub fn new_name(rng: &mut Rng) -> (&'static str, &'static str) {
        (pick(rng, names::FIRST_NAMES), pick(rng, names::LAST_NAMES))
    }
}
