//! `admin.listeners` (KIP-495), issue 21: with it set, `/admin/*` is
//! served on those listeners only, and they serve nothing else; set empty,
//! `/admin/*` is served nowhere; unset, everything is on `listeners`.
//! No broker is needed to serve REST.

use anyhow::Result;
use sluice_tests::*;

fn worker(dir: &std::path::Path, rest: u16, extra: &str, log: &str) -> Result<Worker> {
    let props = write_worker_props(dir, "127.0.0.1:1", extra)?;
    Worker::start(dir, rest, &[&props.display().to_string()], &[], log)
}

#[test]
fn admin_routes_move_to_the_admin_listeners() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (rest, admin) = (free_port()?, free_port()?);
    let _w = worker(
        dir.path(),
        rest,
        &format!("admin.listeners=http://127.0.0.1:{admin}\n"),
        "w.log",
    )?;
    let (code, body) = http_get(admin, "/admin/loggers")?;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"root\""), "{body}");
    let (code, body) = http_get(rest, "/admin/loggers")?;
    assert_eq!(code, 404, "admin route on the REST listener: {body}");
    assert!(body.contains("\"error_code\":404"), "{body}");
    let (code, _) = http_get(rest, "/connectors")?;
    assert_eq!(code, 200);
    let (code, _) = http_get(admin, "/connectors")?;
    assert_eq!(code, 404, "a REST route on the admin listener");
    Ok(())
}

#[test]
fn empty_admin_listeners_turn_the_admin_routes_off() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let rest = free_port()?;
    let _w = worker(dir.path(), rest, "admin.listeners=\n", "w.log")?;
    let (code, _) = http_get(rest, "/admin/loggers")?;
    assert_eq!(code, 404);
    let (code, _) = http_get(rest, "/connectors")?;
    assert_eq!(code, 200);

    let dir2 = tempfile::tempdir()?;
    let rest2 = free_port()?;
    let _w2 = worker(dir2.path(), rest2, "", "w2.log")?;
    let (code, _) = http_get(rest2, "/admin/loggers")?;
    assert_eq!(
        code, 200,
        "unset: the admin routes stay on the REST listener"
    );
    Ok(())
}
