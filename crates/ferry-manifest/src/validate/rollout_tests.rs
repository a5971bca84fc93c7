use super::*;

#[test]
fn percentages_are_read_in_tenths() {
    for (text, tenths) in [
        ("5", 50),
        ("0.1", 1),
        ("12.5", 125),
        ("100", 1000),
        ("3.0", 30),
    ] {
        assert_eq!(parse_tenths(text), Some(tenths), "{text}");
    }
    for text in ["", ".5", "5.", "1.25", "-1", "1e2", "five", "1234567"] {
        assert_eq!(parse_tenths(text), None, "{text:?}");
    }
    assert_eq!(tenths_text(1), "0.1");
    assert_eq!(tenths_text(1000), "100");
}
