//! Echo functions for every WIT kind, used by the host's type-mapping tests.
wit_bindgen::generate!({ world: "types", path: "wit" });

use exports::wippy::types::echo::{Color, Guest as Echo, Perms, Shape, User as EchoUser};

struct Types;

impl Echo for Types {
    fn echo_bool(v: bool) -> bool { v }
    fn echo_s8(v: i8) -> i8 { v }
    fn echo_u8(v: u8) -> u8 { v }
    fn echo_s16(v: i16) -> i16 { v }
    fn echo_u16(v: u16) -> u16 { v }
    fn echo_s32(v: i32) -> i32 { v }
    fn echo_u32(v: u32) -> u32 { v }
    fn echo_s64(v: i64) -> i64 { v }
    fn echo_u64(v: u64) -> u64 { v }
    fn echo_f32(v: f32) -> f32 { v }
    fn echo_f64(v: f64) -> f64 { v }
    fn echo_char(v: char) -> char { v }
    fn echo_string(v: String) -> String { v }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> { v }
    fn echo_list(v: Vec<i32>) -> Vec<i32> { v }
    fn echo_tuple(v: (i32, String, bool)) -> (i32, String, bool) { v }
    fn echo_record(v: EchoUser) -> EchoUser { v }
    fn echo_users(v: Vec<EchoUser>) -> Vec<EchoUser> { v }
    fn echo_variant(v: Shape) -> Shape { v }
    fn echo_enum(v: Color) -> Color { v }
    fn echo_flags(v: Perms) -> Perms { v }
    fn echo_option(v: Option<String>) -> Option<String> { v }
    fn echo_results(v: Vec<Result<u32, String>>) -> Vec<Result<u32, String>> { v }
    fn echo_unit_result(v: Option<Result<(), ()>>) -> Option<Result<(), ()>> { v }
    fn echo_two(a: i32, b: String) -> String { format!("{a}:{b}") }
}

impl Guest for Types {
    fn transform_users(users: Vec<User>) -> Vec<User> {
        users
            .into_iter()
            .map(|mut u| {
                u.name = u.name.to_uppercase();
                if u.active {
                    u.tags.push(String::from("active"));
                }
                u
            })
            .collect()
    }

    fn divide(a: i32, b: i32) -> Result<i32, String> {
        if b == 0 {
            return Err(String::from("division by zero"));
        }
        Ok(a / b)
    }

    fn big_u64() -> u64 { u64::MAX }
}

export!(Types);

