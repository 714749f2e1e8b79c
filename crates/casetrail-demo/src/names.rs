//! Name pools: people, firms, companies and places.
//!
//! Every pool is a constant: the same seed always picks the same names. They are
//! deliberately diverse, accents included, so that searching `jose` and finding "José"
//! can be shown with demo data.

/// Given names, accented ones among them.
#[rustfmt::skip]
pub(crate) const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Christopher", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Emily", "Mark",
    "Sandra", "Steven", "Ashley", "Andrew", "Michelle", "Kevin", "Amanda", "Brian", "Melissa",
    "José", "María", "Zoë", "Siobhán", "Chloé", "Renée", "Björn", "Søren", "Anaïs", "Inés", "Raúl",
    "Ramón", "Joaquín", "Sofía", "Lucía", "Noémie", "Héloïse", "François", "Jürgen", "Dmitri",
    "Aisha", "Fatima", "Omar", "Chidi", "Ngozi", "Oluwaseun", "Kwame", "Amara", "Wei", "Mei", "Li",
    "Hiroshi", "Yuki", "Min-jun", "Ji-woo", "Priya", "Arjun", "Ananya", "Rahul", "Thanh", "Linh",
    "Mateo", "Valentina", "Camila", "Diego", "Leilani", "Kai", "Malik", "Jamal", "Imani", "Tariq",
    "Élodie", "Zoltán", "Łukasz", "Ágnes", "Caoimhe", "Niamh", "Seán", "Dana", "Grace", "Ethan",
];

/// Family names, accented and apostrophized ones among them.
#[rustfmt::skip]
pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Álvarez", "Müller", "O'Brien", "Peña", "Núñez", "Ibáñez",
    "Muñoz", "Gómez", "Fernández", "Díaz", "Schröder", "Köhler", "Søndergaard", "O'Connor",
    "O'Sullivan", "Chen", "Wang", "Zhang", "Liu", "Kim", "Park", "Choi", "Patel", "Shah", "Gupta",
    "Okafor", "Adeyemi", "Mensah", "Nakamura", "Tanaka", "Sato", "Kowalski", "Nowak", "Dubois",
    "Lefèvre", "Bélanger", "Côté", "Gauthier", "Petrović", "Jovanović", "Haddad", "Khoury", "Rossi",
    "Ricci", "Kaur", "Singh", "Cohen", "Levi", "Friedman", "Hartley", "Mendoza", "Whitaker",
];

/// Family names a firm is named after (ordered so the default seed names Hartley & Mendoza).
#[rustfmt::skip]
pub(crate) const FIRM_NAMES: &[&str] = &[
    "Holloway", "Mendoza", "Whitaker", "Okafor", "Brennan", "Castillo", "Lindqvist", "Abernathy",
    "Sterling", "Navarro", "Hartley", "Park", "Delacroix", "Kaplan", "Morrison", "Reyes",
];

/// Counterparties of lawsuits: companies, insurers, agencies.
#[rustfmt::skip]
pub(crate) const COMPANIES: &[&str] = &[
    "Riverside Logistics", "Acme Insurance Co.", "Metro Transit Authority",
    "Greenfield Property Management", "Summit Health Partners", "Lakeshore Apartments LLC",
    "Pinecrest Construction", "Northstar Trucking Inc.", "Bayview Medical Center",
    "Harborview Realty", "Crestline Auto Group", "Ironwood Manufacturing", "BlueSky Airlines",
    "Evergreen Senior Living", "Atlas Freight", "Cascade Mutual Insurance", "Silverline Properties",
    "Maple Grove HOA", "Quantum Retail Corp.", "Hudson Valley Hospital", "Empire Rideshare LLC",
    "Brightway Staffing", "Keystone Fitness Clubs", "Oakmont Grocers",
];

/// (city, state, ZIP prefix, area code) of where clients live.
pub(crate) const CITIES: &[(&str, &str, &str, &str)] = &[
    ("New York", "NY", "100", "212"),
    ("Brooklyn", "NY", "112", "718"),
    ("Queens", "NY", "113", "347"),
    ("Yonkers", "NY", "107", "914"),
    ("Jersey City", "NJ", "073", "201"),
    ("Newark", "NJ", "071", "973"),
    ("Hoboken", "NJ", "070", "551"),
    ("Stamford", "CT", "069", "203"),
    ("Hartford", "CT", "061", "860"),
    ("Boston", "MA", "021", "617"),
    ("Providence", "RI", "029", "401"),
    ("Philadelphia", "PA", "191", "215"),
    ("Baltimore", "MD", "212", "410"),
    ("Miami", "FL", "331", "305"),
];

#[rustfmt::skip]
pub(crate) const STREETS: &[&str] = &[
    "Oak St", "Maple Ave", "Linden Blvd", "Atlantic Ave", "Broadway", "Elm St", "Park Pl",
    "Riverside Dr", "Washington St", "Main St", "Cedar Ln", "Franklin Ave", "Hudson St", "Court St",
    "Bergen St", "Ocean Pkwy", "Willow Rd", "Grand Concourse",
];

#[rustfmt::skip]
pub(crate) const EMAIL_DOMAINS: &[&str] = &[
    "example.com", "example.net", "example.org", "mail.example",
];

/// Staff titles in hiring order; the first, the second and the office manager are admins.
pub(crate) const TITLES: &[(&str, bool)] = &[
    ("Managing Partner", true),
    ("Partner", true),
    ("Office Manager", true),
    ("Senior Associate", false),
    ("Associate", false),
    ("Associate", false),
    ("Paralegal", false),
    ("Paralegal", false),
    ("Intake Specialist", false),
    ("Legal Assistant", false),
    ("Billing Coordinator", false),
    ("Associate", false),
];

/// The unaccented letter(s) of a lowercase letter of the pools, if it has accents.
fn unaccent(c: char) -> Option<&'static str> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
        'ú' | 'ù' | 'û' | 'ü' => "u",
        'ñ' => "n",
        'ç' | 'ć' => "c",
        'ł' => "l",
        'ß' => "ss",
        'æ' => "ae",
        _ => return None,
    })
}

/// Folds a name to lowercase ASCII letters and digits, for email addresses and domains:
/// `"Zoë Müller"` → `"zoemuller"`, `"O'Brien"` → `"obrien"`.
pub(crate) fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match unaccent(c) {
            Some(folded) => out.push_str(folded),
            None if c.is_ascii_alphanumeric() => out.push(c),
            None => {}
        }
    }
    out
}

/// A name as typed on a keyboard without accents: `"José Álvarez"` → `"Jose Alvarez"`.
pub(crate) fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        match unaccent(lower) {
            Some(folded) if c.is_uppercase() => out.push_str(&folded.to_uppercase()),
            Some(folded) => out.push_str(folded),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_strips_accents_and_punctuation() {
        assert_eq!(ascii_fold("Zoë Müller"), "zoemuller");
        assert_eq!(ascii_fold("Siobhán O'Brien"), "siobhanobrien");
        assert_eq!(ascii_fold("Łukasz Petrović"), "lukaszpetrovic");
        assert_eq!(ascii_fold("Min-jun"), "minjun");
        assert_eq!(plain("José Álvarez"), "Jose Alvarez");
        assert_eq!(plain("Siobhán O'Brien"), "Siobhan O'Brien");
        assert_eq!(plain("Łukasz Søndergaard"), "Lukasz Sondergaard");
        for name in FIRST_NAMES.iter().chain(LAST_NAMES) {
            assert!(!ascii_fold(name).is_empty(), "{name}");
        }
    }
}
