//! When things happen at a law firm: mostly weekdays, 8 to 6, busiest mid-morning and
//! mid-afternoon, a little in the evening, almost nothing at night or on Sundays, and
//! some days busier than others.
//!
//! The shape is a weight for each hour of each weekday, in the firm's local time,
//! scaled per day. Event `n` of `count` lands where the share `(n + jitter) / count` of
//! the range's total weight has passed, so times never go back and nothing needs to be
//! sorted or stored.

/// The firm's standard UTC offset (US Eastern): working hours are shaped on it, with
/// no daylight-saving shift.
pub(crate) const OFFSET_MS: i64 = -5 * HOUR;

pub(crate) const HOUR: i64 = 3_600_000;
pub(crate) const DAY: i64 = 24 * HOUR;

/// How busy an hour is; `weekday` 0 is Monday.
fn hour_weight(weekday: usize, hour: usize) -> f64 {
    const WORKDAY: [f64; 24] = [
        0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.3, 1.0, 1.6, 1.7, 1.6, //
        0.9, 1.4, 1.6, 1.5, 1.3, 0.8, 0.35, 0.2, 0.15, 0.1, 0.05, 0.03,
    ];
    match weekday {
        0..=3 => WORKDAY[hour],
        4 if hour >= 13 => WORKDAY[hour] * 0.7,
        4 => WORKDAY[hour],
        5 if (9..17).contains(&hour) => 0.12,
        6 if (11..16).contains(&hour) => 0.06,
        _ => 0.02,
    }
}

/// Where an instant falls in the firm's local week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalTime {
    /// Days since the epoch, in local time: changes at local midnight.
    pub day: i64,
    /// 0 is Monday.
    pub weekday: usize,
    pub hour: usize,
}

impl LocalTime {
    pub fn of(utc_ms: i64) -> LocalTime {
        let local = utc_ms + OFFSET_MS;
        let day = local.div_euclid(DAY);
        LocalTime { day, weekday: weekday(day), hour: (local.rem_euclid(DAY) / HOUR) as usize }
    }

    /// Outside 8:00–18:00 on weekdays.
    pub fn after_hours(self) -> bool {
        self.weekday >= 5 || !(8..18).contains(&self.hour)
    }
}

/// The busy-hours distribution over one range `[start, end]` of UTC milliseconds.
///
/// Each local day's weight is its weekday's shape times a factor drawn from the seed
/// and the day (0.75 to 1.25, and now and then a quiet day such as a holiday), so
/// days differ as they do at a real firm. Shares are looked up in order with a cursor
/// that walks forward day by day: memory is constant, time is linear in days + events.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    seed: u64,
    /// Hour weights and their running sums, per weekday.
    weights: [[f64; 24]; 7],
    prefix: [[f64; 25]; 7],
    start: i64,
    end: i64,
    total: f64,
    /// The local day the cursor is on, and the range's weight before it.
    day: i64,
    before: f64,
}

impl Schedule {
    /// The distribution over `[start, end]`; an `end` before `start` is read as `start`.
    pub fn new(seed: u64, start: i64, end: i64) -> Schedule {
        let mut weights = [[0.0; 24]; 7];
        let mut prefix = [[0.0; 25]; 7];
        for weekday in 0..7 {
            for hour in 0..24 {
                weights[weekday][hour] = hour_weight(weekday, hour);
                prefix[weekday][hour + 1] = prefix[weekday][hour] + weights[weekday][hour];
            }
        }
        let end = end.max(start);
        let day = LocalTime::of(start).day;
        let mut schedule = Schedule { seed, weights, prefix, start, end, total: 0.0, day, before: 0.0 };
        schedule.total = (day..=LocalTime::of(end).day).map(|d| schedule.day_weight(d)).sum();
        schedule
    }

    /// How busy a local day is, relative to its weekday's usual.
    fn factor(&self, day: i64) -> f64 {
        let mut h = self.seed ^ (day as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        if h & 0xff < 6 && weekday(day) < 5 {
            return 0.15; // a holiday, or the office closed for the firm retreat
        }
        0.75 + 0.5 * ((h >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// The part of a local day within the range, in milliseconds from local midnight.
    fn bounds(&self, day: i64) -> (i64, i64) {
        let midnight = day * DAY - OFFSET_MS;
        ((self.start - midnight).clamp(0, DAY), (self.end - midnight).clamp(0, DAY))
    }

    /// The weight of a local day from midnight to `x` milliseconds.
    fn cumulative(&self, day: i64, x: i64) -> f64 {
        let wd = weekday(day);
        let slot = (x / HOUR) as usize;
        let partial = if slot < 24 { self.weights[wd][slot] * (x % HOUR) as f64 / HOUR as f64 } else { 0.0 };
        self.factor(day) * (self.prefix[wd][slot.min(24)] + partial)
    }

    fn day_weight(&self, day: i64) -> f64 {
        let (a, b) = self.bounds(day);
        self.cumulative(day, b) - self.cumulative(day, a)
    }

    /// The instant by which a share `u` (0 to 1) of the range's weight has passed,
    /// always within `[start, end]`. Meant to be asked in non-decreasing order.
    pub fn at(&mut self, u: f64) -> i64 {
        let target = u.clamp(0.0, 1.0) * self.total;
        if target < self.before {
            // Asked out of order: walk again from the start.
            self.day = LocalTime::of(self.start).day;
            self.before = 0.0;
        }
        let last = LocalTime::of(self.end).day;
        loop {
            let w = self.day_weight(self.day);
            if self.before + w >= target || self.day >= last {
                break;
            }
            self.before += w;
            self.day += 1;
        }
        let (day, wd, factor) = (self.day, weekday(self.day), self.factor(self.day));
        let (a, b) = self.bounds(day);
        let goal = (self.cumulative(day, a) + target - self.before) / factor;
        let prefix = &self.prefix[wd];
        let slot = (prefix.partition_point(|&p| p <= goal).max(1) - 1).min(23);
        let frac = ((goal - prefix[slot]) / self.weights[wd][slot]).clamp(0.0, 1.0);
        let x = (slot as i64 * HOUR + ((frac * HOUR as f64) as i64).min(HOUR - 1)).clamp(a, b);
        (day * DAY - OFFSET_MS + x).clamp(self.start, self.end)
    }
}

/// The weekday of a local day number, 0 being Monday (1970-01-01 was a Thursday).
fn weekday(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// `YYYY-MM-DD` of a local day number, a business day `ahead` days after it or later.
pub(crate) fn business_day(day: i64, ahead: i64) -> String {
    let d = day + ahead;
    let d = d + [0, 0, 0, 0, 0, 2, 1][weekday(d)];
    let (y, m, dd) = civil_from_days(d);
    format!("{y:04}-{m:02}-{dd:02}")
}

/// The Gregorian date of a day number (days since 1970-01-01), after H. Hinnant.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        casetrail_core::Timestamp::parse(s).unwrap().as_millis()
    }

    #[test]
    fn local_time_is_eastern_standard() {
        // 2026-11-25 is a Wednesday; 14:30 UTC is 9:30 in New York.
        let t = LocalTime::of(ms("2026-11-25T14:30:00Z"));
        assert_eq!((t.weekday, t.hour), (2, 9));
        assert!(!t.after_hours());
        let t = LocalTime::of(ms("2026-11-29T03:00:00Z")); // Saturday 22:00 local
        assert_eq!((t.weekday, t.hour), (5, 22));
        assert!(t.after_hours());
        assert_eq!(LocalTime::of(ms("2026-11-25T04:59:59Z")).day + 1, LocalTime::of(ms("2026-11-25T05:00:00Z")).day);
    }

    #[test]
    fn shares_map_monotonically_into_the_range() {
        let (start, end) = (ms("2026-10-01T13:17:00Z"), ms("2026-11-25T12:00:00Z"));
        let mut s = Schedule::new(1, start, end);
        assert_eq!(s.at(0.0), start);
        let mut last = start;
        for i in 0..=10_000 {
            let t = s.at(i as f64 / 10_000.0);
            assert!(t >= last && t <= end, "step {i}");
            last = t;
        }
        assert!(end - last < 60_000, "the last share ends near the end");
        assert_eq!(s.at(0.0), start, "out of order still answers");
    }

    #[test]
    fn most_of_the_weight_is_in_working_hours() {
        let mut s = Schedule::new(2, ms("2026-11-02T05:00:00Z"), ms("2026-11-30T05:00:00Z"));
        let n = 10_000;
        let times: Vec<LocalTime> = (0..n).map(|i| LocalTime::of(s.at((i as f64 + 0.5) / n as f64))).collect();
        let working = times.iter().filter(|t| !t.after_hours()).count();
        assert!(working * 100 > n * 80, "{working} of {n}");
        let sundays = times.iter().filter(|t| t.weekday == 6).count();
        assert!(sundays * 100 < n * 2, "{sundays} of {n}");
        // Weekdays are not all alike.
        let mut per_day = std::collections::BTreeMap::new();
        for t in times.iter().filter(|t| t.weekday < 5) {
            *per_day.entry(t.day).or_insert(0) += 1;
        }
        let (min, max) = (per_day.values().min().unwrap(), per_day.values().max().unwrap());
        assert!(max - min > 100, "{per_day:?}");
    }

    #[test]
    fn an_empty_or_inverted_range_is_one_instant() {
        let t = ms("2026-11-25T12:00:00Z");
        assert_eq!(Schedule::new(3, t, t).at(0.5), t);
        assert_eq!(Schedule::new(3, t, t - 1000).at(0.5), t);
    }

    #[test]
    fn dates_are_gregorian_business_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_516), (2026, 3, 4));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // 2026-11-25 is day 20_782, a Wednesday; two days on is Friday, three is Saturday.
        assert_eq!(business_day(20_782, 0), "2026-11-25");
        assert_eq!(business_day(20_782, 2), "2026-11-27");
        assert_eq!(business_day(20_782, 3), "2026-11-30");
        assert_eq!(business_day(20_782, 4), "2026-11-30");
    }
}
