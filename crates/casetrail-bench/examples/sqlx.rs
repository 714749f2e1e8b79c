//! Throwaway: time SQL against a raw bench database. `sqlx DB 'SQL' [param...]`, reads lines from stdin: SQL\tparam\tparam
use std::io::BufRead;
fn main() {
    let db = std::env::args().nth(1).unwrap();
    let c = rusqlite::Connection::open(db).unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        if line.trim().is_empty() {
            continue;
        }
        if line == "ANALYZE" {
            c.execute_batch("ANALYZE").unwrap();
            println!("-- analyzed");
            continue;
        }
        let mut parts = line.split('\t');
        let label = parts.next().unwrap();
        let sql = parts.next().unwrap();
        let params: Vec<String> = parts.map(String::from).collect();
        let mut st = c.prepare(sql).unwrap();
        let mut ts = vec![];
        let mut n = 0;
        for _ in 0..15 {
            let t = std::time::Instant::now();
            let mut rows = st.query(rusqlite::params_from_iter(params.iter())).unwrap();
            n = 0;
            while let Some(_r) = rows.next().unwrap() {
                n += 1;
            }
            ts.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ts.sort_by(|a, b| a.total_cmp(b));
        let mut plan = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let p: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        println!("{label}: rows {n} p50 {:.2} ms | {}", ts[7], p.join(" / "));
    }
}
