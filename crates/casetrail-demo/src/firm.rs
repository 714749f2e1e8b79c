//! The demo firm: its staff, clients and cases, all derived from one seed.

use std::collections::HashSet;

use fastrand::Rng;

use crate::names::{self, ascii_fold};

/// How many people work at the firm.
pub const STAFF: usize = 12;
/// How many clients and cases the firm starts with.
pub const CLIENTS: usize = 300;
pub const CASES: usize = 320;
/// The number of the firm's first case (`c_101`).
pub(crate) const FIRST_CASE_NUMBER: u64 = 101;

/// One person of the firm, a user of its case-management account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// `u_1`, `u_2`, ... in hiring order.
    pub id: String,
    pub name: String,
    /// `first.last@<firm domain>`, ASCII-folded (`zoe.muller@...`).
    pub email: String,
    /// Whether the person is an Admin of the account (may read the System Log).
    pub admin: bool,
    /// `Managing Partner`, `Paralegal`, ...
    pub title: String,
}

/// A client's mailing address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub street: String,
    pub city: String,
    pub state: String,
    pub zip: String,
}

/// A client of the firm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `cl_1`, `cl_2`, ...
    pub id: String,
    /// Diverse, accents included (`José Álvarez`, `Zoë Müller`, `Siobhán O'Brien`).
    pub name: String,
    pub email: String,
    /// E.164, in the fictional 555-01xx range: `+12125550147`.
    pub phone: String,
    pub address: Address,
}

/// A case (matter) of the firm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// `c_101`, `c_102`, ...
    pub id: String,
    /// `Smith v. Jones`, `Estate of Álvarez`, `In re Marriage of Chen`, ...
    pub name: String,
    /// The id of the client the firm represents in it.
    pub client_id: String,
    /// `Personal Injury`, `Family Law`, ...
    pub practice_area: &'static str,
    /// The case's status when the generated activity starts (`Intake`, `Discovery`, ...).
    pub status: &'static str,
    /// The id of the staff member the case is assigned to.
    pub assigned_to: String,
}

/// A small law firm, as its case-management account knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firm {
    /// `Hartley & Mendoza LLP`.
    pub name: String,
    /// `hartleymendoza.com`: the domain of the staff's email addresses.
    pub domain: String,
    /// The firm's IANA time zone; working hours are shaped on its standard offset.
    pub timezone: String,
    /// The firm's main line, which SMS and calls go from.
    pub phone: String,
    /// Twelve people, three of them Admins (the first, the second and the third).
    pub staff: Vec<Staff>,
    pub cases: Vec<Case>,
    pub clients: Vec<Client>,
}

/// Status lifecycles, first to last; the last one is final.
pub(crate) const LITIGATION: &[&str] = &["Intake", "Active", "Discovery", "Negotiation", "Settled", "Closed"];
pub(crate) const FAMILY: &[&str] = &["Intake", "Active", "Mediation", "Settled", "Closed"];
pub(crate) const CRIMINAL: &[&str] = &["Intake", "Active", "Discovery", "Plea Negotiation", "Resolved", "Closed"];
pub(crate) const TRANSACTIONAL: &[&str] =
    &["Intake", "Active", "Awaiting Documents", "Under Review", "Completed", "Closed"];

/// Practice areas: (name, status lifecycle, weight among new cases).
pub(crate) const PRACTICE_AREAS: &[(&str, &[&str], u32)] = &[
    ("Personal Injury", LITIGATION, 25),
    ("Civil Litigation", LITIGATION, 15),
    ("Family Law", FAMILY, 15),
    ("Estate Planning & Probate", TRANSACTIONAL, 12),
    ("Employment", LITIGATION, 10),
    ("Criminal Defense", CRIMINAL, 8),
    ("Immigration", TRANSACTIONAL, 8),
    ("Real Estate", TRANSACTIONAL, 7),
];

/// The lifecycle of a practice area.
pub(crate) fn lifecycle(area: &str) -> &'static [&'static str] {
    PRACTICE_AREAS.iter().find(|(name, _, _)| *name == area).map_or(LITIGATION, |(_, statuses, _)| statuses)
}

/// Clients every demo firm has, whatever the seed, at `cl_1`..`cl_6`: they make
/// diacritic search demonstrable (`jose` finds "José Álvarez").
const FEATURED_CLIENTS: &[(&str, &str)] = &[
    ("José", "Álvarez"),
    ("Zoë", "Müller"),
    ("Siobhán", "O'Brien"),
    ("John", "Smith"),
    ("Chidi", "Okafor"),
    ("Li", "Chen"),
];

/// Cases every demo firm has, at `c_101`..`c_106`: (name, featured client, area).
const FEATURED_CASES: &[(&str, usize, usize)] = &[
    ("Smith v. Jones", 3, 1),
    ("Estate of Álvarez", 0, 3),
    ("In re Marriage of Chen", 5, 2),
    ("Okafor v. Riverside Logistics", 4, 0),
    ("Müller v. Lakeshore Apartments LLC", 1, 1),
    ("O'Brien v. Metro Transit Authority", 2, 0),
];

/// How many clients and cases stay whatever the activity does (the featured ones).
pub(crate) const FEATURED: usize = 6;

/// The demo firm of a seed: same seed, same firm.
pub fn firm(seed: u64) -> Firm {
    let mut rng = Rng::with_seed(seed ^ 0x6669_726d_5f73_6565);
    let (partners, name, domain) = firm_name(seed);
    let mut taken: HashSet<String> = FEATURED_CLIENTS.iter().map(|(f, l)| format!("{f} {l}")).collect();

    let mut staff = Vec::with_capacity(STAFF);
    let mut emails = HashSet::new();
    for (i, (title, admin)) in names::TITLES.iter().enumerate().take(STAFF) {
        let (first, last) = loop {
            let first = pick(&mut rng, names::FIRST_NAMES);
            // The name partners are the firm's namesakes.
            let last = partners.get(i).copied().unwrap_or_else(|| pick(&mut rng, names::LAST_NAMES));
            let email = format!("{}.{}@{domain}", ascii_fold(first), ascii_fold(last));
            if taken.insert(format!("{first} {last}")) && emails.insert(email) {
                break (first, last);
            }
        };
        staff.push(Staff {
            id: format!("u_{}", i + 1),
            name: format!("{first} {last}"),
            email: format!("{}.{}@{domain}", ascii_fold(first), ascii_fold(last)),
            admin: *admin,
            title: (*title).to_string(),
        });
    }

    let mut clients: Vec<Client> = FEATURED_CLIENTS
        .iter()
        .enumerate()
        .map(|(i, (first, last))| new_client(&mut rng, i as u64 + 1, first, last))
        .collect();
    while clients.len() < CLIENTS {
        let first = pick(&mut rng, names::FIRST_NAMES);
        let last = pick(&mut rng, names::LAST_NAMES);
        if taken.insert(format!("{first} {last}")) {
            let number = clients.len() as u64 + 1;
            clients.push(new_client(&mut rng, number, first, last));
        }
    }

    let assignees: Vec<usize> = (0..staff.len()).filter(|&i| is_case_handler(&staff[i].title)).collect();
    let mut cases = Vec::with_capacity(CASES);
    for (name, client, area) in FEATURED_CASES {
        let area = PRACTICE_AREAS[*area];
        let assignee = &staff[assignees[rng.usize(..assignees.len())]];
        let status = initial_status(&mut rng, area.1);
        let number = FIRST_CASE_NUMBER + cases.len() as u64;
        cases.push(Case {
            id: format!("c_{number}"),
            name: (*name).to_string(),
            client_id: clients[*client].id.clone(),
            practice_area: area.0,
            status,
            assigned_to: assignee.id.clone(),
        });
    }
    while cases.len() < CASES {
        let client = &clients[rng.usize(..clients.len())];
        let number = FIRST_CASE_NUMBER + cases.len() as u64;
        let assignee = &staff[assignees[rng.usize(..assignees.len())]];
        cases.push(new_case(&mut rng, number, client, assignee));
    }

    Firm {
        name,
        domain,
        timezone: "America/New_York".to_string(),
        phone: "+12125550100".to_string(),
        staff,
        cases,
        clients,
    }
}

/// The two name partners, the firm's name and its domain: `Hartley & Mendoza LLP`,
/// `hartleymendoza.com` for [`crate::DEFAULT_SEED`], other pairs for other seeds.
fn firm_name(seed: u64) -> ([&'static str; 2], String, String) {
    let n = names::FIRM_NAMES.len() as u64;
    let a = (seed % n) as usize;
    let b = ((seed % n + 1 + (seed / n) % (n - 1)) % n) as usize;
    let (a, b) = (names::FIRM_NAMES[a], names::FIRM_NAMES[b]);
    ([a, b], format!("{a} & {b} LLP"), format!("{}{}.com", ascii_fold(a), ascii_fold(b)))
}

/// Attorneys and paralegals carry cases; the front office does not.
pub(crate) fn is_case_handler(title: &str) -> bool {
    title.contains("Partner") || title.contains("Associate") || title == "Paralegal"
}

/// A client with a fresh contact, as number `number` (`cl_<number>`).
pub(crate) fn new_client(rng: &mut Rng, number: u64, first: &str, last: &str) -> Client {
    let domain = pick(rng, names::EMAIL_DOMAINS);
    let email = match rng.u8(..3) {
        0 => format!("{}.{}@{domain}", ascii_fold(first), ascii_fold(last)),
        1 => format!("{}{}{}@{domain}", &ascii_fold(first)[..1], ascii_fold(last), rng.u8(10..99)),
        _ => format!("{}_{}@{domain}", ascii_fold(first), ascii_fold(last)),
    };
    let (address, area_code) = new_address(rng);
    Client {
        id: format!("cl_{number}"),
        name: format!("{first} {last}"),
        email,
        phone: new_phone(rng, area_code),
        address,
    }
}

/// A fictional phone number (555-0101 to 555-0199) in an area code.
pub(crate) fn new_phone(rng: &mut Rng, area_code: &str) -> String {
    // 555-0100 itself is the firm's own line.
    format!("+1{area_code}55501{:02}", rng.u8(1..100))
}

/// An address somewhere clients live, with its city's area code.
pub(crate) fn new_address(rng: &mut Rng) -> (Address, &'static str) {
    let (city, state, zip, area_code) = pick(rng, names::CITIES);
    let street = pick(rng, names::STREETS);
    let address = Address {
        street: format!("{} {street}", rng.u16(1..2400)),
        city: city.to_string(),
        state: state.to_string(),
        zip: format!("{zip}{:02}", rng.u8(1..99)),
    };
    (address, area_code)
}

/// A new case for a client, named the way its practice area names cases.
pub(crate) fn new_case(rng: &mut Rng, number: u64, client: &Client, assignee: &Staff) -> Case {
    let area = weighted(rng, PRACTICE_AREAS, |a| a.2);
    let (first, last) = client.name.split_once(' ').unwrap_or(("", client.name.as_str()));
    let company = pick(rng, names::COMPANIES);
    let other = pick(rng, names::LAST_NAMES);
    let variant = rng.bool();
    let name = match area.0 {
        "Personal Injury" | "Employment" => format!("{last} v. {company}"),
        "Civil Litigation" if variant => format!("{last} v. {company}"),
        "Civil Litigation" => format!("{last} v. {other}"),
        "Family Law" if variant => format!("In re Marriage of {last}"),
        "Family Law" => format!("{last} Custody Modification"),
        "Estate Planning & Probate" if variant => format!("Estate of {last}"),
        "Estate Planning & Probate" => format!("{first} {last} Revocable Trust"),
        "Criminal Defense" if variant => format!("People v. {last}"),
        "Criminal Defense" => format!("State v. {last}"),
        "Immigration" => format!("Matter of {first} {last}"),
        _ => format!("{last}: Purchase of {} {}", rng.u16(1..900), pick(rng, names::STREETS)),
    };
    Case {
        id: format!("c_{number}"),
        name,
        client_id: client.id.clone(),
        practice_area: area.0,
        status: initial_status(rng, area.1),
        assigned_to: assignee.id.clone(),
    }
}

/// One item of a non-empty slice, uniformly.
pub(crate) fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// One item of a non-empty slice, with probability proportional to its weight.
pub(crate) fn weighted<'a, T>(rng: &mut Rng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut roll = rng.u32(..total.max(1));
    for item in items {
        let w = weight(item);
        if roll < w {
            return item;
        }
        roll -= w;
    }
    &items[items.len() - 1]
}

/// Where an existing case stands: mostly early in its lifecycle, never closed.
fn initial_status(rng: &mut Rng, lifecycle: &'static [&'static str]) -> &'static str {
    let open = lifecycle.len() - 1;
    lifecycle[rng.usize(..open).min(rng.usize(..open))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_firm_is_hartley_and_mendoza() {
        let firm = firm(crate::DEFAULT_SEED);
        assert_eq!(firm.name, "Hartley & Mendoza LLP");
        assert_eq!(firm.domain, "hartleymendoza.com");
        assert!(firm.staff.iter().all(|s| s.email.ends_with("@hartleymendoza.com")));
        assert!(firm.staff[0].name.ends_with(" Hartley") && firm.staff[1].name.ends_with(" Mendoza"));
    }

    #[test]
    fn firm_names_pair_two_different_partners() {
        for seed in 0..1000 {
            let (_, name, _) = firm_name(seed);
            let (a, b) = name.trim_end_matches(" LLP").split_once(" & ").unwrap();
            assert_ne!(a, b, "seed {seed}");
        }
    }

    #[test]
    fn ids_are_unique_and_cases_belong_to_clients() {
        let firm = firm(7);
        let clients: HashSet<&str> = firm.clients.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(clients.len(), CLIENTS);
        let cases: HashSet<&str> = firm.cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(cases.len(), CASES);
        assert!(firm.cases.iter().all(|c| clients.contains(c.client_id.as_str())));
        let names: HashSet<&str> = firm.clients.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), CLIENTS);
    }
}
