//! The words of the firm's activity: message templates, deadlines, courts, judges,
//! integrations, automations, browsers.

pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
];

/// The browser staff use from their phones after hours.
pub(crate) const MOBILE_USER_AGENT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

#[rustfmt::skip]
pub(crate) const LANGUAGES: &[&str] = &[
    "English", "Spanish", "Mandarin", "Vietnamese", "French", "Haitian Creole", "Portuguese",
    "Korean",
];

#[rustfmt::skip]
pub(crate) const CONTACT_METHODS: &[&str] = &[
    "Phone", "Email", "SMS",
];

#[rustfmt::skip]
pub(crate) const REFERRAL_SOURCES: &[&str] = &[
    "Google search", "Past client", "Attorney referral", "Avvo", "Friend or family", "Billboard",
    "Bar association",
];

#[rustfmt::skip]
pub(crate) const CLIENT_TAGS: &[&str] = &[
    "VIP", "Payment plan", "Spanish speaker", "Needs interpreter", "Referral", "Pro bono",
];

#[rustfmt::skip]
pub(crate) const DEADLINE_KINDS: &[&str] = &[
    "Answer due", "Discovery responses due", "Deposition", "Mediation", "Hearing",
    "Filing deadline", "Expert disclosure due", "Client meeting", "Status conference",
];

pub(crate) const COURTS: &[&str] = &[
    "Supreme Court of the State of New York, Kings County",
    "Supreme Court of the State of New York, New York County",
    "Civil Court of the City of New York",
    "Family Court, Queens County",
    "Surrogate's Court, New York County",
    "U.S. District Court, S.D.N.Y.",
    "Superior Court of New Jersey, Hudson County",
];

#[rustfmt::skip]
pub(crate) const JUDGES: &[&str] = &[
    "Hon. Andrea Rivera", "Hon. Marcus Feld", "Hon. Grace Nakamura", "Hon. Peter O'Neill",
    "Hon. Lucía Ortega", "Hon. Samuel Adeyemi",
];

pub(crate) const SMS_OUT: &[&str] = &[
    "Hi {first}, this is {staff} from {firm}. Reminder: your appointment is tomorrow at 10:00 AM.",
    "Hi {first}, we received your documents. Thank you!",
    "Hi {first}, please call our office when you have a moment regarding {case}.",
    "Your retainer agreement is ready to sign via DocuSign. Let us know if you have questions.",
    "Reminder: your deposition prep session is Thursday at 2:00 PM at our office.",
    "Hi {first}, could you send us a photo of your insurance card?",
    "Good news, {first}: the other side responded. {staff} will call you today.",
];

pub(crate) const SMS_IN: &[&str] = &[
    "Thanks, see you then!",
    "Can we reschedule to next week?",
    "I just uploaded the photos from the accident.",
    "Who should I send the medical bills to?",
    "Got it, thank you.",
    "Is there an update on my case?",
    "Running 10 minutes late, sorry!",
    "Yes, Tuesday works for me.",
];

/// (subject, first line of the body) of emails the firm sends.
pub(crate) const EMAIL_OUT: &[(&str, &str)] = &[
    ("Next steps in {case}", "Dear {first}, following our call today, here is what happens next."),
    ("Documents needed for {case}", "Dear {first}, to move forward we need the following documents."),
    ("Engagement letter", "Dear {first}, attached is our engagement letter for your review and signature."),
    ("Deposition schedule", "Dear {first}, the deposition has been scheduled; please see the details below."),
    ("Settlement offer update", "Dear {first}, we received a revised offer this morning and would like to discuss it."),
    ("Your consultation with {firm}", "Dear {first}, thank you for contacting {firm}. Your consultation is confirmed."),
    ("Draft for your review", "Dear {first}, please review the attached draft and send us any comments."),
    ("Invoice for services", "Dear {first}, please find attached this month's invoice. You can pay online via LawPay."),
];

/// (subject, first line of the body) of emails clients send.
pub(crate) const EMAIL_IN: &[(&str, &str)] = &[
    ("Question about my case", "Hi, I wanted to ask about the timeline for my case."),
    ("Re: Documents needed", "Attached are the bank statements you asked for."),
    ("Signed forms attached", "Hello, I signed the forms and attached them here."),
    ("Medical records", "Here are the records from my last two appointments."),
    ("Re: Settlement offer update", "Thank you for explaining. I would like to talk before deciding."),
    ("Change of address", "Please note that I moved last week."),
    ("Payment confirmation", "I paid the invoice online today, can you confirm you received it?"),
];

/// What the firm's automations place AI calls for.
#[rustfmt::skip]
pub(crate) const AI_CALL_PURPOSES: &[&str] = &[
    "Appointment reminder", "Intake follow-up", "Document request", "Payment reminder",
    "Court date reminder", "New lead qualification",
];

#[rustfmt::skip]
pub(crate) const AI_CALL_OUTCOMES: &[&str] = &[
    "completed", "completed", "completed", "voicemail", "no_answer", "transferred_to_staff",
];

/// (id, name) of integrations a firm can connect.
pub(crate) const INTEGRATIONS: &[(&str, &str)] = &[
    ("int_twilio", "Twilio"),
    ("int_ringcentral", "RingCentral"),
    ("int_outlook", "Microsoft Outlook"),
    ("int_lawpay", "LawPay"),
    ("int_docusign", "DocuSign"),
    ("int_quickbooks", "QuickBooks"),
    ("int_clio", "Clio"),
    ("int_google_calendar", "Google Calendar"),
    ("int_dropbox", "Dropbox"),
    ("int_zapier", "Zapier"),
];

/// Names of automations staff create: (name, trigger, action).
pub(crate) const AUTOMATION_IDEAS: &[(&str, &str, &str)] = &[
    ("Send welcome packet to new clients", "client.created", "send_email"),
    ("Follow up on unsigned retainer", "retainer.unsigned_3_days", "send_sms"),
    ("Notify attorney of new intake", "case.created", "notify_user"),
    ("Weekly case status update", "schedule.weekly", "send_email"),
    ("Request a review after case closes", "case.closed", "send_email"),
    ("Escalate missed calls", "call.missed", "create_task"),
    ("Remind clients of court dates", "deadline.in_3_days", "ai_call"),
    ("Collect intake documents", "case.status_changed", "send_sms"),
];

#[rustfmt::skip]
pub(crate) const EXPORT_FORMATS: &[&str] = &[
    "PDF", "ZIP",
];

/// Fills `{first}`, `{staff}`, `{firm}` and `{case}` in a template.
pub(crate) fn fill(template: &str, first: &str, staff: &str, firm: &str, case: &str) -> String {
    template.replace("{first}", first).replace("{staff}", staff).replace("{firm}", firm).replace("{case}", case)
}

/// The first word of a name (`José` of `José Álvarez`).
pub(crate) fn first_name(name: &str) -> &str {
    name.split(' ').next().unwrap_or(name)
}

/// Cuts a message to a preview of at most `max` characters.
pub(crate) fn preview(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_string() } else { text.chars().take(max - 1).chain(['…']).collect() }
}

/// `12m 5s` for a call duration.
pub(crate) fn duration(seconds: u32) -> String {
    if seconds >= 60 { format!("{}m {}s", seconds / 60, seconds % 60) } else { format!("{seconds}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_and_durations_read_well() {
        assert_eq!(preview("short", 10), "short");
        assert_eq!(preview("a longer message", 6), "a lon…");
        assert_eq!(duration(725), "12m 5s");
        assert_eq!(duration(42), "42s");
    }
}
