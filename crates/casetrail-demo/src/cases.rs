//! Case activity: cases opened, moved along their lifecycle, reassigned, given
//! priorities, deadlines and courts, exported and (rarely) deleted.

use fastrand::Rng;
use serde_json::{Value, json};

use crate::events::{Changes, Draft, Kind, Moment, change, redraw, redraw_by};
use crate::firm::{self, pick};
use crate::people::Who;
use crate::schedule::business_day;
use crate::vocab;
use crate::world::{CaseState, DEADLINES, INTAKE_BOT, World};

const PRIORITIES: &[&str] = &["Low", "Normal", "High", "Urgent"];

impl World {
    pub fn case_created(&mut self, rng: &mut Rng, m: &Moment) -> Draft {
        let client = match self.last_new_client.take() {
            Some(k) if k < self.clients.len() && rng.u8(..10) < 6 => k,
            _ => self.pick_client(rng),
        };
        let bot = rng.u8(..10) < if m.local.after_hours() { 7 } else { 1 };
        let who = if bot { Who::Bot(INTAKE_BOT) } else { Who::Staff(self.pick_staff(rng)) };
        let assignee = self.pick_handler(rng);
        let mut case = firm::new_case(rng, self.next_case, &self.clients[client].client, &self.staff[assignee].staff);
        self.next_case += 1;
        case.status = "Intake";
        let lifecycle = firm::lifecycle(case.practice_area);
        let source =
            if bot { "Web intake form" } else { pick(rng, &["Phone call", "Referral", "Walk-in", "Web intake form"]) };
        let state = CaseState {
            case,
            client,
            assignee,
            lifecycle,
            status: 0,
            deadline: None,
            priority: 1,
            court: None,
            judge: None,
            index_number: None,
            deleted: false,
        };
        let slot = self.insert_case(rng, state);
        let c = &self.cases[slot];
        let description = format!("Opened case {} for {}", c.case.name, self.clients[client].client.name);
        let metadata = json!({
            "practice_area": c.case.practice_area,
            "status": c.status(),
            "assigned_to": self.staff[assignee].staff.name,
            "source": source,
        });
        Draft::new(Kind::CaseCreated, who, description).related(self.case_refs(slot)).metadata(metadata)
    }

    pub fn case_updated(&mut self, rng: &mut Rng, m: &Moment) -> Draft {
        let ci = self.pick_case(rng);
        if rng.u8(..10) == 0 {
            // The deadline tracker dockets dates from court notices by itself.
            return self.set_deadline(rng, m, ci, Who::Bot(DEADLINES));
        }
        let actor = self.staff_for_case(rng, ci);
        match rng.u8(..100) {
            0..35 if !self.cases[ci].is_closed() => self.advance_status(ci, actor, false),
            35..50 => self.reassign(rng, ci, actor),
            50..60 => self.change_priority(rng, ci, actor),
            60..72 => self.court_details(rng, m, ci, actor),
            72..78 if !self.cases[ci].is_closed() => self.advance_status(ci, actor, true),
            _ => self.set_deadline(rng, m, ci, Who::Staff(actor)),
        }
    }

    /// Moves the case one step along its lifecycle; `reassign` hands it over too,
    /// to the person who moved it.
    fn advance_status(&mut self, ci: usize, actor: usize, reassign: bool) -> Draft {
        let c = &mut self.cases[ci];
        let (before, after) = (c.status(), c.lifecycle[c.status + 1]);
        c.status += 1;
        let mut changes = vec![change("status", before, after)];
        let mut description = format!("Changed case status from {before} to {after}");
        if reassign && c.assignee != actor {
            let (from, to) = (&self.staff[c.assignee].staff, &self.staff[actor].staff);
            changes.push(change("assigned_to", from.name.as_str(), to.name.as_str()));
            description = format!("{description} and took over from {}", from.name);
            c.assignee = actor;
            c.case.assigned_to.clone_from(&to.id);
        }
        Draft::new(Kind::CaseUpdated, Who::Staff(actor), description)
            .related(self.case_refs(ci))
            .changes(Changes::List(changes))
    }

    /// Hands the case to another attorney or paralegal; in a firm with a single one,
    /// the priority changes instead.
    fn reassign(&mut self, rng: &mut Rng, ci: usize, actor: usize) -> Draft {
        let from = self.cases[ci].assignee;
        let to = redraw(&from, || self.pick_handler(rng));
        if to == from {
            return self.change_priority(rng, ci, actor);
        }
        let c = &mut self.cases[ci];
        let (from_name, to_name) = (self.staff[from].staff.name.clone(), self.staff[to].staff.name.clone());
        c.assignee = to;
        c.case.assigned_to.clone_from(&self.staff[to].staff.id);
        let description = format!("Reassigned case from {from_name} to {to_name}");
        Draft::new(Kind::CaseUpdated, Who::Staff(actor), description)
            .related(self.case_refs(ci))
            .changes(Changes::List(vec![change("assigned_to", from_name, to_name)]))
    }

    fn change_priority(&mut self, rng: &mut Rng, ci: usize, actor: usize) -> Draft {
        let c = &mut self.cases[ci];
        let before = c.priority;
        c.priority = (before + 1 + rng.usize(..PRIORITIES.len() - 1)) % PRIORITIES.len();
        let (b, a) = (PRIORITIES[before], PRIORITIES[c.priority]);
        Draft::new(Kind::CaseUpdated, Who::Staff(actor), format!("Changed case priority from {b} to {a}"))
            .related(self.case_refs(ci))
            .changes(Changes::List(vec![change("priority", b, a)]))
    }

    fn set_deadline(&mut self, rng: &mut Rng, m: &Moment, ci: usize, who: Who) -> Draft {
        let current = self.cases[ci].deadline.clone();
        let (date, kind) = redraw_by(
            |next| current.as_ref() == Some(next),
            || {
                let kind = pick(rng, vocab::DEADLINE_KINDS);
                (business_day(m.local.day, rng.i64(3..60)), kind)
            },
        );
        let c = &mut self.cases[ci];
        let before = c.deadline.replace((date.clone(), kind));
        let mut changes = Vec::new();
        let (before_date, before_kind) = before.map_or((Value::Null, Value::Null), |(d, k)| (d.into(), k.into()));
        if before_date != date.as_str() {
            changes.push(change("next_deadline", before_date, date.as_str()));
        }
        if before_kind != kind {
            changes.push(change("next_deadline_type", before_kind, kind));
        }
        Draft::new(Kind::CaseUpdated, who, format!("Set next deadline: {kind} on {date}"))
            .related(self.case_refs(ci))
            .changes(Changes::List(changes))
    }

    /// Court details, sent as before/after snapshots of the case (unchanged fields
    /// included, as a host would send them).
    fn court_details(&mut self, rng: &mut Rng, m: &Moment, ci: usize, actor: usize) -> Draft {
        let c = &self.cases[ci];
        let snapshot = |c: &CaseState| {
            json!({
                "status": c.status(),
                "practice_area": c.case.practice_area,
                "court": {
                    "name": c.court.map(|i| vocab::COURTS[i]),
                    "judge": c.judge.map(|i| vocab::JUDGES[i]),
                    "index_number": c.index_number,
                },
            })
        };
        let before = snapshot(c);
        let c = &mut self.cases[ci];
        let description = if c.court.is_none() {
            c.court = Some(rng.usize(..vocab::COURTS.len()));
            let year = business_day(m.local.day, 0)[..4].to_string();
            c.index_number = Some(format!("{:06}/{year}", rng.u32(100_000..1_000_000)));
            format!("Recorded filing in {}", vocab::COURTS[c.court.unwrap_or(0)])
        } else if let Some(old) = c.judge {
            let new = (old + 1 + rng.usize(..vocab::JUDGES.len() - 1)) % vocab::JUDGES.len();
            c.judge = Some(new);
            format!("Judge changed from {} to {}", vocab::JUDGES[old], vocab::JUDGES[new])
        } else {
            let new = rng.usize(..vocab::JUDGES.len());
            c.judge = Some(new);
            format!("Case assigned to {}", vocab::JUDGES[new])
        };
        let after = snapshot(&self.cases[ci]);
        Draft::new(Kind::CaseUpdated, Who::Staff(actor), description)
            .related(self.case_refs(ci))
            .changes(Changes::Snapshots(before, after))
    }

    pub fn case_exported(&mut self, rng: &mut Rng) -> Draft {
        let ci = self.pick_case(rng);
        let actor = self.staff_for_case(rng, ci);
        let format = pick(rng, vocab::EXPORT_FORMATS);
        let documents = rng.u32(4..240);
        let description =
            format!("Exported case file for {} as {format} ({documents} documents)", self.cases[ci].case.name);
        Draft::new(Kind::CaseExported, Who::Staff(actor), description).related(self.case_refs(ci)).metadata(json!({
            "format": format.to_lowercase(),
            "documents": documents,
            "includes": ["documents", "notes", "communications"],
        }))
    }

    pub fn case_deleted(&mut self, rng: &mut Rng) -> Draft {
        let admin = self.pick_admin(rng);
        let mut ci = self.pick_case(rng);
        for _ in 0..8 {
            if ci >= firm::FEATURED && !self.cases[ci].deleted {
                break;
            }
            ci = self.pick_case(rng);
        }
        let reason = pick(
            rng,
            &["Duplicate entry", "Opened in error", "Conflict check failed", "Client declined representation"],
        );
        let refs = self.case_refs(ci);
        let c = &mut self.cases[ci];
        if ci >= firm::FEATURED {
            c.deleted = true;
        }
        Draft::new(
            Kind::CaseDeleted,
            Who::Staff(admin),
            format!("Deleted case {}: {}", c.case.name, reason.to_lowercase()),
        )
        .related(refs)
        .metadata(json!({"reason": reason, "status": c.status(), "practice_area": c.case.practice_area}))
    }
}
