//! The people of the firm as the generator sees them: who acts (staff, automations,
//! the firm's systems), how busy each is, where they sign in from.

use fastrand::Rng;
use serde_json::{Value, json};

use crate::firm::{Staff, is_case_handler};
use crate::vocab;
use crate::world::World;

/// Who does something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    /// A staff member, by index.
    Staff(usize),
    /// An automation, by index of [`World::automations`].
    Bot(usize),
    System(&'static str, &'static str),
    Api(&'static str, &'static str),
}

/// The inbound side of communications: the firm's phone and mail systems.
pub(crate) const SYSTEM: Who = Who::System("system", "System");

#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub staff: Staff,
    /// How much of the firm's activity is theirs, relatively.
    weight: u32,
    /// The local day of their last sign-in.
    signed_in_day: i64,
}

impl Person {
    pub fn new(staff: Staff) -> Person {
        let weight = match staff.title.as_str() {
            "Paralegal" | "Intake Specialist" => 9,
            "Senior Associate" | "Associate" => 8,
            "Legal Assistant" => 7,
            "Partner" => 5,
            _ => 4,
        };
        Person { staff, weight, signed_in_day: i64::MIN }
    }
}

impl World {
    pub fn actor(&self, who: &Who) -> Value {
        match who {
            Who::Staff(i) => {
                let s = &self.staff[*i].staff;
                json!({"id": s.id, "name": s.name, "email": s.email, "type": "user"})
            }
            Who::Bot(i) => {
                let a = &self.automations[*i];
                json!({"id": a.id, "name": a.name, "type": "automation"})
            }
            Who::System(id, name) => json!({"id": id, "name": name, "type": "system"}),
            Who::Api(id, name) => json!({"id": id, "name": name, "type": "api"}),
        }
    }

    /// Where an action came from: the office network, or home and a phone after hours.
    pub fn context(&self, rng: &mut Rng, who: &Who, after_hours: bool) -> Option<Value> {
        match who {
            Who::Staff(i) => {
                let remote = if after_hours { rng.u8(..10) < 8 } else { rng.u8(..100) < 12 };
                let ip =
                    if remote { format!("198.51.100.{}", 20 + i % 200) } else { format!("203.0.113.{}", 10 + i % 200) };
                let agent = if remote && after_hours && rng.bool() {
                    vocab::MOBILE_USER_AGENT
                } else {
                    vocab::USER_AGENTS[i % vocab::USER_AGENTS.len()]
                };
                Some(json!({"ip": ip, "user_agent": agent}))
            }
            Who::Bot(_) => Some(json!({"correlation_id": format!("run_{:012x}", rng.u64(..1 << 48))})),
            Who::Api(..) => Some(json!({"request_id": format!("req_{:016x}", rng.u64(..))})),
            Who::System(..) => None,
        }
    }

    pub fn signed_in(&self, i: usize, day: i64) -> bool {
        self.staff[i].signed_in_day == day
    }

    pub fn sign_in(&mut self, i: usize, day: i64) {
        self.staff[i].signed_in_day = day;
    }

    /// Anyone, the busier roles more often.
    pub fn pick_staff(&self, rng: &mut Rng) -> usize {
        let total: u32 = self.staff.iter().map(|p| p.weight).sum();
        let mut roll = rng.u32(..total.max(1));
        for (i, p) in self.staff.iter().enumerate() {
            if roll < p.weight {
                return i;
            }
            roll -= p.weight;
        }
        0
    }

    /// An Admin of the account (anyone, in a firm without one).
    pub fn pick_admin(&self, rng: &mut Rng) -> usize {
        let admins = self.staff.iter().filter(|p| p.staff.admin).count();
        if admins == 0 {
            return self.pick_staff(rng);
        }
        let k = rng.usize(..admins);
        self.staff.iter().enumerate().filter(|(_, p)| p.staff.admin).nth(k).map_or(0, |(i, _)| i)
    }

    /// An attorney or paralegal (anyone, in a firm without one).
    pub fn pick_handler(&self, rng: &mut Rng) -> usize {
        let handlers = self.staff.iter().filter(|p| is_case_handler(&p.staff.title)).count();
        if handlers == 0 {
            return self.pick_staff(rng);
        }
        let k = rng.usize(..handlers);
        self.staff.iter().enumerate().filter(|(_, p)| is_case_handler(&p.staff.title)).nth(k).map_or(0, |(i, _)| i)
    }

    /// Who works on a case: mostly the person it is assigned to.
    pub fn staff_for_case(&self, rng: &mut Rng, case: usize) -> usize {
        if rng.u8(..10) < 6 { self.cases[case].assignee } else { self.pick_staff(rng) }
    }
}
