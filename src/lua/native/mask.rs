//! The Rust half of `ferry.mask`: a keyed, deterministic, format-preserving permutation
//! of text. Letters stay letters (each keeps its case), digits stay digits, CJK
//! ideographs, Hangul syllables and kana stay in their block, accented Latin, Greek and
//! Cyrillic letters with a case pair stay in their script, and every other character
//! (spaces, punctuation, `@`, `.`) stays where it is; so the shape of a value survives.
//!
//! Each masked position moves by an offset drawn from SHA-256 of the salt, a tweak (what
//! kind of value this is) and every character before it; a second pass does the same
//! from the end, so every output character depends on the whole input. Both passes can
//! be undone by whoever holds the salt, so the mask is a bijection: two different
//! values never mask to the same value (no unique key is broken), and the same value
//! with the same salt always masks the same way (joins still line up). Letters enter
//! the hash in one case, so values equal but for letter case mask to values equal but
//! for letter case, as a case-insensitive unique key needs.

use std::collections::HashMap;
use std::sync::OnceLock;

use mlua::{Lua, LuaString, Table};
use sha2::{Digest, Sha256};

use super::{pair, Answer, Refusal};

/// Registers the `mask_*` functions on the native table.
pub fn register(lua: &Lua, t: &Table) -> mlua::Result<()> {
    /// Lua: `native.mask_chars(salt, tweak, text, which)` -> text with its letters
    /// (`which` holds "l") and digits ("d") permuted, or nil and a message.
    fn chars_fn(
        _: &Lua,
        (salt, tweak, text, which): (LuaString, String, LuaString, String),
    ) -> mlua::Result<Answer<String>> {
        let classes = Classes {
            letters: which.contains('l'),
            digits: which.contains('d'),
        };
        let text = match std::str::from_utf8(&text.as_bytes()) {
            Ok(s) => s.to_string(),
            Err(_) => return Ok(pair(Err(Refusal::from("not UTF-8 text")))),
        };
        Ok((Some(mask(&salt.as_bytes(), &tweak, &text, classes)), None))
    }
    t.set("mask_chars", lua.create_function(chars_fn)?)?;
    Ok(())
}

/// Which characters a mask moves.
#[derive(Debug, Clone, Copy)]
pub struct Classes {
    pub letters: bool,
    pub digits: bool,
}

/// A character that moves: its block's first code point, the block's size, its place
/// in the block (letters case-folded), and whether it is an upper-case letter; for the
/// letters of a script that are not one run of code points, the script's alphabet.
#[derive(Debug, Clone, Copy)]
struct Place {
    base: u32,
    radix: u32,
    value: u32,
    upper: bool,
    alphabet: Option<&'static Alphabet>,
}

/// The lower-case letters of a script that have one upper-case form mapping back to
/// them, and where each letter (of either case) sits among them.
#[derive(Debug)]
struct Alphabet {
    lower: Vec<char>,
    index: HashMap<char, (u32, bool)>,
}

impl Alphabet {
    fn of(ranges: &[std::ops::RangeInclusive<u32>]) -> Alphabet {
        let lower: Vec<char> = ranges
            .iter()
            .flat_map(|r| r.clone())
            .filter_map(char::from_u32)
            .filter(|c| {
                c.is_lowercase()
                    && single(c.to_uppercase())
                        .is_some_and(|u| u != *c && single(u.to_lowercase()) == Some(*c))
            })
            .collect();
        let mut index = HashMap::new();
        for (i, c) in lower.iter().enumerate() {
            index.insert(*c, (i as u32, false));
            index.insert(upper(*c), (i as u32, true));
        }
        Alphabet { lower, index }
    }
}

/// The one character `chars` holds, if it holds one.
fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

fn upper(c: char) -> char {
    c.to_uppercase().next().unwrap_or(c)
}

/// Greek, Cyrillic, and accented Latin in three blocks: Latin-1's letters stay in
/// Latin-1 (so a latin1 column still holds them), Latin Extended-A's and -B's in theirs.
fn alphabets() -> &'static [Alphabet; 5] {
    static ALPHABETS: OnceLock<[Alphabet; 5]> = OnceLock::new();
    ALPHABETS.get_or_init(|| {
        [
            Alphabet::of(&[0xC0..=0xFF]),
            Alphabet::of(&[0x370..=0x3FF]),
            Alphabet::of(&[0x400..=0x52F]),
            Alphabet::of(&[0x100..=0x17F]),
            Alphabet::of(&[0x180..=0x24F]),
        ]
    })
}

fn place(c: char, classes: Classes) -> Option<Place> {
    let cp = c as u32;
    let block = |base: u32, radix: u32| Place {
        base,
        radix,
        value: cp - base,
        upper: false,
        alphabet: None,
    };
    match c {
        'a'..='z' if classes.letters => Some(block('a' as u32, 26)),
        'A'..='Z' if classes.letters => Some(Place {
            upper: true,
            ..block('A' as u32, 26)
        }),
        '0'..='9' if classes.digits => Some(block('0' as u32, 10)),
        // CJK unified ideographs, Hangul syllables, hiragana, katakana.
        '\u{4E00}'..='\u{9FFF}' if classes.letters => Some(block(0x4E00, 0x9FFF - 0x4E00 + 1)),
        '\u{AC00}'..='\u{D7A3}' if classes.letters => Some(block(0xAC00, 0xD7A3 - 0xAC00 + 1)),
        '\u{3041}'..='\u{3096}' if classes.letters => Some(block(0x3041, 0x3096 - 0x3041 + 1)),
        '\u{30A1}'..='\u{30FA}' if classes.letters => Some(block(0x30A1, 0x30FA - 0x30A1 + 1)),
        '\u{C0}'..='\u{52F}' if classes.letters => {
            let alphabet = alphabets().iter().find(|a| a.index.contains_key(&c))?;
            let (value, upper) = alphabet.index[&c];
            Some(Place {
                base: alphabet.lower[0] as u32,
                radix: alphabet.lower.len() as u32,
                value,
                upper,
                alphabet: Some(alphabet),
            })
        }
        _ => None,
    }
}

impl Place {
    /// The character at `value` of this place's block (in its case).
    fn to_char(self, value: u32) -> char {
        match self.alphabet {
            Some(a) if self.upper => upper(a.lower[value as usize]),
            Some(a) => a.lower[value as usize],
            None => char::from_u32(self.base + value).unwrap_or('?'),
        }
    }

    /// The block as the hash sees it: one block for both cases of a letter.
    fn folded_base(self) -> u32 {
        if self.upper && self.alphabet.is_none() {
            'a' as u32
        } else {
            self.base
        }
    }
}

/// One pass over `chars` (forward or backward): each moving character shifts by an
/// offset from the running hash of the salt, the tweak and the characters before it.
fn pass(chars: &mut [char], salt: &[u8], tweak: &str, label: &[u8], classes: Classes, rev: bool) {
    let mut state: [u8; 32] = Sha256::new()
        .chain_update((salt.len() as u64).to_be_bytes())
        .chain_update(salt)
        .chain_update(tweak.as_bytes())
        .chain_update(label)
        .finalize()
        .into();
    let order: Vec<usize> = if rev {
        (0..chars.len()).rev().collect()
    } else {
        (0..chars.len()).collect()
    };
    for i in order {
        let c = chars[i];
        let Some(p) = place(c, classes) else {
            // A character that stays still still shapes what follows.
            state = Sha256::new()
                .chain_update(state)
                .chain_update([0u8])
                .chain_update((c as u32).to_be_bytes())
                .finalize()
                .into();
            continue;
        };
        let off = u64::from_be_bytes(state[..8].try_into().unwrap()) % u64::from(p.radix);
        let moved = ((u64::from(p.value) + off) % u64::from(p.radix)) as u32;
        chars[i] = p.to_char(moved);
        // The hash takes the character as it was (case-folded), so the next offsets
        // can be found again when undoing the pass.
        state = Sha256::new()
            .chain_update(state)
            .chain_update([1u8])
            .chain_update(p.folded_base().to_be_bytes())
            .chain_update(p.value.to_be_bytes())
            .finalize()
            .into();
    }
}

/// `text` masked: letters and/or digits permuted in place, the rest kept.
pub fn mask(salt: &[u8], tweak: &str, text: &str, classes: Classes) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    pass(&mut chars, salt, tweak, b"forward", classes, false);
    pass(&mut chars, salt, tweak, b"backward", classes, true);
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const ALL: Classes = Classes {
        letters: true,
        digits: true,
    };

    #[test]
    fn the_shape_stays_and_the_value_changes() {
        let m = mask(b"salt", "t", "Ann-Marie O'Neil 42", ALL);
        assert_ne!(m, "Ann-Marie O'Neil 42");
        let shape = |s: &str| {
            s.chars()
                .map(|c| match c {
                    'a'..='z' => 'a',
                    'A'..='Z' => 'A',
                    '0'..='9' => '9',
                    c => c,
                })
                .collect::<String>()
        };
        assert_eq!(shape(&m), shape("Ann-Marie O'Neil 42"));
        let cjk = mask(b"salt", "t", "张伟 김민준", ALL);
        assert_eq!(cjk.chars().count(), 6);
        assert_eq!(cjk.chars().nth(2), Some(' '));
        assert_ne!(cjk, "张伟 김민준");
    }

    #[test]
    fn the_same_salt_gives_the_same_mask_and_another_salt_another() {
        let a = mask(b"one", "email", "ann.lee", ALL);
        assert_eq!(a, mask(b"one", "email", "ann.lee", ALL));
        assert_ne!(a, mask(b"two", "email", "ann.lee", ALL));
        assert_ne!(a, mask(b"one", "name", "ann.lee", ALL));
    }

    #[test]
    fn different_values_never_mask_alike() {
        // Every 3-digit string: 1,000 inputs, 1,000 outputs.
        let digits = Classes {
            letters: false,
            digits: true,
        };
        let out: HashSet<String> = (0..1000)
            .map(|n| mask(b"s", "d", &format!("{n:03}"), digits))
            .collect();
        assert_eq!(out.len(), 1000);
        // Every 2-letter lower-case string.
        let mut seen = HashSet::new();
        for a in 'a'..='z' {
            for b in 'a'..='z' {
                assert!(seen.insert(mask(b"s", "l", &format!("{a}{b}"), ALL)));
            }
        }
    }

    #[test]
    fn letter_case_is_kept_and_does_not_change_the_letters() {
        let lower = mask(b"s", "t", "mcdonald", ALL);
        let mixed = mask(b"s", "t", "McDonald", ALL);
        assert_eq!(lower.to_lowercase(), mixed.to_lowercase());
        assert!(mixed.starts_with(|c: char| c.is_ascii_uppercase()));
        assert!(mixed.chars().nth(2).unwrap().is_ascii_uppercase());
    }

    #[test]
    fn accented_greek_and_cyrillic_letters_move_within_their_block() {
        for (name, script) in [
            ("Ærø Müller-Çelik", 0),
            ("Łęcka Świętą", 3),
            ("Γιώργος Παπαδόπουλος", 1),
            ("Иван Петрович", 2),
        ] {
            let m = mask(b"s", "n", name, ALL);
            assert_eq!(m.chars().count(), name.chars().count(), "{name} -> {m}");
            let letters = alphabets()[script]
                .index
                .keys()
                .copied()
                .collect::<HashSet<char>>();
            let mut moved = 0;
            for (a, b) in name.chars().zip(m.chars()) {
                if letters.contains(&a) {
                    assert!(letters.contains(&b), "{a} -> {b} in {name} -> {m}");
                    assert_eq!(a.is_uppercase(), b.is_uppercase(), "{name} -> {m}");
                    moved += usize::from(a != b);
                } else if !a.is_ascii_alphabetic() {
                    assert_eq!(a, b, "{name} -> {m}");
                }
            }
            // The odd letter may land on itself; most do not.
            assert!(moved * 2 > name.chars().filter(|c| letters.contains(c)).count());
        }
        // One-to-one over every 2-letter Cyrillic word.
        let cyr = &alphabets()[2].lower;
        let mut seen = HashSet::new();
        for a in cyr {
            for b in cyr {
                assert!(seen.insert(mask(b"s", "l", &format!("{a}{b}"), ALL)));
            }
        }
        // Letter case does not change the letters.
        assert_eq!(
            mask(b"s", "t", "ÆRØ", ALL).to_lowercase(),
            mask(b"s", "t", "ærø", ALL)
        );
    }

    #[test]
    fn only_the_chosen_classes_move() {
        let digits = Classes {
            letters: false,
            digits: true,
        };
        let m = mask(b"s", "p", "+1 (555) 010-9999 ext", digits);
        assert!(m.starts_with("+"));
        assert!(m.ends_with(" ext"));
        assert_eq!(m.len(), "+1 (555) 010-9999 ext".len());
    }
}
