//! HTTP tests of the client against a real casetrail server on 127.0.0.1, on the
//! backend `CASETRAIL_TEST_DATABASE_URL` picks; one test binary.

mod feed;
mod proxy;
mod retrying;
mod sending;
mod support;
