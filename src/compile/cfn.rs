//! CloudFormation template helpers: reads names and text, produces the intrinsic function
//! objects (`Ref`, `Fn::GetAtt`, `Fn::Sub`) every template builder uses.

use serde_json::{Value, json};

/// `{"Ref": name}`.
pub fn reference(name: &str) -> Value {
    json!({"Ref": name})
}

/// `{"Fn::GetAtt": [id, attribute]}`.
pub fn get_att(id: &str, attribute: &str) -> Value {
    json!({"Fn::GetAtt": [id, attribute]})
}

/// Text with `${…}` placeholders as `Fn::Sub`, plain text as itself.
pub fn sub(text: &str) -> Value {
    if text.contains("${") {
        json!({"Fn::Sub": text})
    } else {
        json!(text)
    }
}
