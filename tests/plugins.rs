//! placeholder
mod harness;

#[test]
fn redis_harness_tmp() {
    let mut server = harness::RedisServer::start();
    println!("{}", server.url());
    let mut c = server.connection();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let _: String = redis::cmd("XADD").arg("s").arg("*").arg("a").arg("b").query(&mut c).unwrap();
    server.restart();
    let mut c = server.connection();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    let n: usize = redis::cmd("XLEN").arg("s").query(&mut c).unwrap();
    assert_eq!(n, 1);
    server.kill();
    assert!(!server.is_running());
    server.start_again();
    let mut c = server.connection();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    println!("{}", server.log().lines().count());
}
