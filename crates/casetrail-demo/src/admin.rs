//! Team and settings activity: sign-ins (and failed ones), invitations, role changes,
//! removals, account settings, integrations and automations.

use fastrand::Rng;
use serde_json::{Value, json};

use crate::events::{Changes, Draft, Kind, change, user_ref};
use crate::firm::{Staff, pick};
use crate::names::ascii_fold;
use crate::people::Who;
use crate::vocab;
use crate::world::{Automation, MAX_AUTOMATIONS, MAX_INVITED, Setting, World};

/// The account settings admins change, each with the values it takes in turn.
pub(crate) fn settings_catalog() -> Vec<Setting> {
    let setting = |(id, name): (&'static str, &'static str), field, label, values: Vec<Value>| Setting {
        id,
        name,
        field,
        label,
        values,
        current: 0,
    };
    let security = ("setting_security", "Security");
    vec![
        setting(
            ("setting_business_hours", "Business hours"),
            "business_hours",
            "business hours",
            vec![json!("Mon–Fri 8:30–17:30"), json!("Mon–Fri 8:00–18:00"), json!("Mon–Fri 9:00–17:00")],
        ),
        setting(
            ("setting_billing", "Billing"),
            "payment_terms",
            "payment terms",
            vec![json!("Net 30"), json!("Net 15"), json!("Due on receipt")],
        ),
        setting(security, "session_timeout_minutes", "session timeout", vec![json!(60), json!(30), json!(120)]),
        setting(security, "require_mfa", "two-factor sign-in requirement", vec![json!(false), json!(true)]),
        setting(
            ("setting_sms", "SMS"),
            "sms_opt_out_footer",
            "SMS opt-out footer",
            vec![json!("Reply STOP to opt out."), json!("Reply STOP to unsubscribe.")],
        ),
        setting(
            ("setting_intake", "Intake"),
            "intake_routing",
            "intake routing",
            vec![json!("Round robin"), json!("Intake queue"), json!("By practice area")],
        ),
    ]
}

fn role_label(admin: bool) -> &'static str {
    if admin { "Admin" } else { "Member" }
}

fn role_key(admin: bool) -> &'static str {
    if admin { "admin" } else { "member" }
}

impl World {
    pub fn logged_in(&mut self, rng: &mut Rng, i: usize) -> Draft {
        let s = &self.staff[i].staff;
        let metadata = if rng.u8(..10) < 3 {
            json!({"method": "sso", "provider": "Microsoft", "mfa": true})
        } else {
            json!({"method": "password", "mfa": true})
        };
        Draft::new(Kind::LoggedIn, Who::Staff(i), format!("{} signed in", s.name))
            .related([user_ref(s)])
            .metadata(metadata)
    }

    pub fn login_failed(&mut self, rng: &mut Rng) -> Draft {
        let i = self.pick_staff(rng);
        let s = &self.staff[i].staff;
        let reason = pick(rng, &["invalid_password", "invalid_password", "invalid_password", "invalid_mfa_code"]);
        let mut draft = Draft::new(Kind::LoginFailed, Who::Staff(i), format!("Failed sign-in for {}", s.email))
            .related([user_ref(s)])
            .metadata(json!({"email": s.email, "reason": reason}));
        if rng.u8(..10) < 4 {
            // From somewhere the firm has never signed in from.
            let ip = format!("192.0.2.{}", rng.u8(1..255));
            draft.context =
                Some(json!({"ip": ip, "user_agent": vocab::USER_AGENTS[rng.usize(..vocab::USER_AGENTS.len())]}));
        }
        draft
    }

    pub fn user_invited(&mut self, rng: &mut Rng) -> Draft {
        let admin = self.pick_admin(rng);
        let (first, last) = World::new_name(rng);
        let title = pick(rng, &["Associate", "Paralegal", "Legal Assistant", "Law Clerk"]);
        let invited = Staff {
            id: format!("u_{}", self.next_user),
            name: format!("{first} {last}"),
            email: format!("{}.{}@{}", ascii_fold(first), ascii_fold(last), self.domain),
            admin: false,
            title: title.to_string(),
        };
        self.next_user += 1;
        let draft = Draft::new(
            Kind::UserInvited,
            Who::Staff(admin),
            format!("Invited {} ({}) as Member", invited.name, invited.email),
        )
        .related([user_ref(&invited)])
        .metadata(json!({"email": invited.email, "role": "member", "title": title}));
        if self.invited.len() == MAX_INVITED {
            self.invited.pop_front();
        }
        self.invited.push_back(invited);
        draft
    }

    /// Makes a Member an Admin for a while, then a Member again.
    pub fn role_changed(&mut self, rng: &mut Rng) -> Draft {
        let admin = self.pick_admin(rng);
        let (target, was_admin) = match self.promoted.take() {
            Some(i) => (i, true),
            None => {
                let members: Vec<usize> =
                    (0..self.staff.len()).filter(|&i| !self.staff[i].staff.admin && i != admin).collect();
                match members.get(rng.usize(..members.len().max(1))) {
                    Some(&i) => {
                        self.promoted = Some(i);
                        (i, false)
                    }
                    None => (admin, true),
                }
            }
        };
        let s = &self.staff[target].staff;
        let description =
            format!("Changed {}'s role from {} to {}", s.name, role_label(was_admin), role_label(!was_admin));
        Draft::new(Kind::RoleChanged, Who::Staff(admin), description)
            .related([user_ref(s)])
            .changes(Changes::List(vec![change("role", role_key(was_admin), role_key(!was_admin))]))
    }

    /// Removes someone invited earlier, or a former employee the log has not seen.
    pub fn user_removed(&mut self, rng: &mut Rng) -> Draft {
        let admin = self.pick_admin(rng);
        let removed = self.invited.pop_front().unwrap_or_else(|| {
            let (first, last) = World::new_name(rng);
            let s = Staff {
                id: format!("u_{}", self.next_user),
                name: format!("{first} {last}"),
                email: format!("{}.{}@{}", ascii_fold(first), ascii_fold(last), self.domain),
                admin: false,
                title: "Legal Assistant".to_string(),
            };
            self.next_user += 1;
            s
        });
        let description = format!("Removed {} ({}) from the account", removed.name, removed.email);
        Draft::new(Kind::UserRemoved, Who::Staff(admin), description)
            .related([user_ref(&removed)])
            .metadata(json!({"email": removed.email, "role": role_key(removed.admin)}))
    }

    pub fn settings_updated(&mut self, rng: &mut Rng) -> Draft {
        let admin = self.pick_admin(rng);
        let k = rng.usize(..self.settings.len());
        let s = &mut self.settings[k];
        let before = s.current;
        s.current = (before + 1 + rng.usize(..s.values.len() - 1)) % s.values.len();
        Draft::new(Kind::SettingsUpdated, Who::Staff(admin), format!("Changed {} in {} settings", s.label, s.name))
            .related([json!({"type": "setting", "id": s.id, "name": s.name})])
            .changes(Changes::List(vec![change(s.field, s.values[before].clone(), s.values[s.current].clone())]))
    }

    /// Connects an integration that is not connected, or disconnects one that is; when
    /// every one already is (or none is), the other way round.
    pub fn integration(&mut self, rng: &mut Rng, connect: bool) -> Draft {
        let admin = self.pick_admin(rng);
        let candidates = |connect: bool| -> Vec<usize> {
            (0..vocab::INTEGRATIONS.len()).filter(|&i| (self.connected >> i & 1 == 1) != connect).collect()
        };
        let connect = if candidates(connect).is_empty() { !connect } else { connect };
        let candidates = candidates(connect);
        let i = candidates.get(rng.usize(..candidates.len().max(1))).copied().unwrap_or(0);
        let (id, name) = vocab::INTEGRATIONS[i];
        let related = [json!({"type": "integration", "id": id, "name": name})];
        let status = |connected: bool| if connected { "Connected" } else { "Not connected" };
        let changes = Changes::List(vec![change("status", status(!connect), status(connect))]);
        if connect {
            self.connected |= 1 << i;
            Draft::new(Kind::IntegrationConnected, Who::Staff(admin), format!("Connected integration {name}"))
                .related(related)
                .changes(changes)
                .metadata(
                    json!({"provider": name, "auth": "oauth2", "connected_account": format!("admin@{}", self.domain)}),
                )
        } else {
            self.connected &= !(1 << i);
            let reason = pick(
                rng,
                &["No longer used", "Switched providers", "Reconnecting with another account", "Access token expired"],
            );
            Draft::new(Kind::IntegrationDisconnected, Who::Staff(admin), format!("Disconnected integration {name}"))
                .related(related)
                .changes(changes)
                .metadata(json!({"provider": name, "reason": reason}))
        }
    }

    pub fn automation_created(&mut self, rng: &mut Rng) -> Draft {
        let admin = self.pick_admin(rng);
        let (name, trigger, action) = pick(rng, vocab::AUTOMATION_IDEAS);
        let automation = Automation {
            id: format!("auto_{}", self.next_automation),
            name: name.to_string(),
            enabled: true,
            delay_minutes: pick(rng, &[0, 15, 60, 1440]),
            channel: if action == "send_sms" { "SMS" } else { "Email" },
        };
        self.next_automation += 1;
        let draft = Draft::new(Kind::AutomationCreated, Who::Staff(admin), format!("Created automation {name}"))
            .related([json!({"type": "automation", "id": automation.id, "name": name})])
            .metadata(json!({"trigger": trigger, "action": action, "delay_minutes": automation.delay_minutes, "enabled": true}));
        if self.automations.len() < MAX_AUTOMATIONS {
            self.automations.push(automation);
        } else {
            // Built-ins stay; the oldest created one gives way.
            let slot = 4 + (self.next_automation as usize) % (MAX_AUTOMATIONS - 4);
            self.automations[slot] = automation;
        }
        draft
    }

    pub fn automation_modified(&mut self, rng: &mut Rng) -> Draft {
        let admin = self.pick_admin(rng);
        let slot = rng.usize(..self.automations.len());
        let a = &mut self.automations[slot];
        let (what, changed) = match rng.u8(..3) {
            0 => {
                a.enabled = !a.enabled;
                let what = if a.enabled { "enabled" } else { "paused" };
                (what.to_string(), change("enabled", !a.enabled, a.enabled))
            }
            1 => {
                let before = a.delay_minutes;
                a.delay_minutes = pick(rng, &[0, 15, 30, 60, 120, 1440].map(|d| if d == before { d + 5 } else { d }));
                (
                    format!("delay {} → {} minutes", before, a.delay_minutes),
                    change("delay_minutes", before, a.delay_minutes),
                )
            }
            _ => {
                let before = a.channel;
                a.channel = if before == "SMS" { "Email" } else { "SMS" };
                (format!("channel {before} → {}", a.channel), change("channel", before, a.channel))
            }
        };
        Draft::new(Kind::AutomationModified, Who::Staff(admin), format!("Modified automation {}: {what}", a.name))
            .related([json!({"type": "automation", "id": a.id, "name": a.name})])
            .changes(Changes::List(vec![changed]))
    }
}
