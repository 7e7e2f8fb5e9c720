//! The picture a product shows until staff upload a photo: drawn for that
//! product (what it is, from the words of its name; a colour of its own; its
//! name), served at `/images/placeholder/{id}.svg?v={name hash}`.
//!
//! The name is the only text from outside and is escaped for XML; the
//! picture is served with a policy that runs no script.

/// What a product looks like, guessed from the words of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    Headphones,
    Keyboard,
    Screen,
    Speaker,
    Battery,
    Watch,
    Camera,
    Bar,
    Sweet,
    Bean,
    Leaf,
    Kettle,
    Mug,
    Knife,
    Pan,
    Cloth,
    Board,
    Candle,
    Parcel,
}

/// Words that say what a thing is, most telling first (a "Tea Towel" is a cloth, not tea).
const WORDS: &[(&[&str], Picture)] = &[
    (&["towel", "towels", "linen", "napkin", "apron", "cloth"], Picture::Cloth),
    (&["kettle", "grinder", "teapot"], Picture::Kettle),
    (&["mug", "mugs", "cup", "cups"], Picture::Mug),
    (&["headphones", "headphone", "earbuds", "headset"], Picture::Headphones),
    (&["keyboard", "keyboards"], Picture::Keyboard),
    (&["monitor", "screen", "display", "tv"], Picture::Screen),
    (&["speaker", "speakers", "soundbar"], Picture::Speaker),
    (&["charger", "bank", "battery", "power"], Picture::Battery),
    (&["tracker", "band", "watch", "fitness"], Picture::Watch),
    (&["camera", "cameras"], Picture::Camera),
    (&["chocolate", "bar"], Picture::Bar),
    (
        &[
            "caramels", "caramel", "gummies", "gummy", "bears", "pralines", "mints", "drops", "macarons", "macaron", "licorice", "twists",
            "candy", "sweets",
        ],
        Picture::Sweet,
    ),
    (&["coffee", "espresso", "beans", "bean", "ethiopia", "roast"], Picture::Bean),
    (&["tea", "matcha", "chamomile", "herbal", "earl", "grey", "blend"], Picture::Leaf),
    (&["knife", "knives"], Picture::Knife),
    (&["skillet", "pan", "wok", "pot"], Picture::Pan),
    (&["board"], Picture::Board),
    (&["candle", "candles"], Picture::Candle),
];

impl Picture {
    pub fn for_name(name: &str) -> Picture {
        let words: Vec<String> = name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
        WORDS.iter().find(|(keys, _)| words.iter().any(|w| keys.contains(&w.as_str()))).map_or(Picture::Parcel, |(_, picture)| *picture)
    }

    /// The drawing, in a 400 × 300 frame, centred on (200, 135); white on the background.
    fn shapes(self) -> &'static str {
        match self {
            Picture::Headphones => {
                r##"<path d="M140 160v-20a60 60 0 0 1 120 0v20" fill="none" stroke="#fff" stroke-width="14" stroke-linecap="round"/><rect x="124" y="150" width="36" height="56" rx="14" fill="#fff"/><rect x="240" y="150" width="36" height="56" rx="14" fill="#fff"/>"##
            }
            Picture::Keyboard => {
                r##"<rect x="110" y="100" width="180" height="80" rx="12" fill="#fff"/><g fill="url(#ink)"><rect x="124" y="114" width="18" height="16" rx="3"/><rect x="148" y="114" width="18" height="16" rx="3"/><rect x="172" y="114" width="18" height="16" rx="3"/><rect x="196" y="114" width="18" height="16" rx="3"/><rect x="220" y="114" width="18" height="16" rx="3"/><rect x="244" y="114" width="32" height="16" rx="3"/><rect x="124" y="136" width="28" height="16" rx="3"/><rect x="158" y="136" width="18" height="16" rx="3"/><rect x="182" y="136" width="18" height="16" rx="3"/><rect x="206" y="136" width="18" height="16" rx="3"/><rect x="230" y="136" width="46" height="16" rx="3"/><rect x="150" y="158" width="100" height="12" rx="3"/></g>"##
            }
            Picture::Screen => {
                r##"<rect x="130" y="82" width="140" height="100" rx="10" fill="#fff"/><rect x="142" y="94" width="116" height="76" rx="4" fill="url(#ink)"/><rect x="188" y="182" width="24" height="20" fill="#fff"/><rect x="166" y="200" width="68" height="8" rx="4" fill="#fff"/>"##
            }
            Picture::Speaker => {
                r##"<rect x="152" y="76" width="96" height="136" rx="20" fill="#fff"/><circle cx="200" cy="164" r="30" fill="url(#ink)"/><circle cx="200" cy="164" r="10" fill="#fff"/><circle cx="200" cy="106" r="12" fill="url(#ink)"/>"##
            }
            Picture::Battery => {
                r##"<rect x="126" y="106" width="136" height="68" rx="12" fill="#fff"/><rect x="262" y="126" width="14" height="28" rx="4" fill="#fff"/><path d="M204 116l-26 30h18l-6 22 26-30h-18z" fill="url(#ink)"/>"##
            }
            Picture::Watch => {
                r##"<rect x="176" y="62" width="48" height="156" rx="16" fill="#fff" opacity=".7"/><rect x="158" y="100" width="84" height="80" rx="22" fill="#fff"/><rect x="170" y="112" width="60" height="56" rx="14" fill="url(#ink)"/><path d="M186 142h10l6-12 8 22 5-10h9" fill="none" stroke="#fff" stroke-width="4" stroke-linejoin="round"/>"##
            }
            Picture::Camera => {
                r##"<rect x="120" y="100" width="160" height="100" rx="16" fill="#fff"/><rect x="146" y="86" width="46" height="20" rx="6" fill="#fff"/><circle cx="200" cy="150" r="34" fill="url(#ink)"/><circle cx="200" cy="150" r="16" fill="#fff" opacity=".8"/><circle cx="256" cy="118" r="6" fill="url(#ink)"/>"##
            }
            Picture::Bar => {
                r##"<g transform="rotate(-12 200 140)"><rect x="130" y="92" width="140" height="96" rx="8" fill="#fff"/><g fill="url(#ink)"><rect x="140" y="102" width="36" height="22" rx="3"/><rect x="182" y="102" width="36" height="22" rx="3"/><rect x="224" y="102" width="36" height="22" rx="3"/><rect x="140" y="129" width="36" height="22" rx="3"/><rect x="182" y="129" width="36" height="22" rx="3"/><rect x="224" y="129" width="36" height="22" rx="3"/><rect x="140" y="156" width="36" height="22" rx="3"/><rect x="182" y="156" width="36" height="22" rx="3"/></g></g>"##
            }
            Picture::Sweet => {
                r##"<path d="M150 140l-34-26v52zM250 140l34-26v52z" fill="#fff" opacity=".85"/><circle cx="200" cy="140" r="52" fill="#fff"/><path d="M166 118c20 10 48 10 68 0M160 142c24 12 56 12 80 0M166 164c20 10 48 10 68 0" fill="none" stroke="url(#ink)" stroke-width="8" stroke-linecap="round"/>"##
            }
            Picture::Bean => {
                r##"<g transform="rotate(-30 200 140)"><ellipse cx="200" cy="140" rx="50" ry="70" fill="#fff"/><path d="M200 74c-22 30 22 62 0 132" fill="none" stroke="url(#ink)" stroke-width="10" stroke-linecap="round"/></g>"##
            }
            Picture::Leaf => {
                r##"<path d="M128 196c0-80 56-124 150-124 0 94-44 150-124 150-10 0-18-8-26-26z" fill="#fff"/><path d="M134 214c30-46 64-82 112-110" fill="none" stroke="url(#ink)" stroke-width="8" stroke-linecap="round"/>"##
            }
            Picture::Kettle => {
                r##"<path d="M150 200l10-76h80l10 76z" fill="#fff"/><rect x="180" y="106" width="40" height="14" rx="6" fill="#fff"/><path d="M240 140c30 0 40-20 56-44" fill="none" stroke="#fff" stroke-width="10" stroke-linecap="round"/><path d="M160 124c0-36 80-36 80 0" fill="none" stroke="#fff" stroke-width="8" opacity=".8"/><rect x="162" y="160" width="76" height="10" rx="5" fill="url(#ink)"/>"##
            }
            Picture::Mug => {
                r##"<rect x="140" y="96" width="100" height="110" rx="14" fill="#fff"/><path d="M240 120h16a26 26 0 0 1 0 52h-16" fill="none" stroke="#fff" stroke-width="14"/><path d="M166 80c0-12 10-12 10-24M196 80c0-12 10-12 10-24" fill="none" stroke="#fff" stroke-width="6" stroke-linecap="round" opacity=".7"/><rect x="156" y="130" width="68" height="10" rx="5" fill="url(#ink)"/>"##
            }
            Picture::Knife => {
                r##"<g transform="rotate(-30 200 140)"><path d="M110 128h150c20 0 30 10 30 24H110z" fill="#fff"/><rect x="60" y="128" width="54" height="24" rx="8" fill="#fff" opacity=".8"/><circle cx="76" cy="140" r="4" fill="url(#ink)"/><circle cx="98" cy="140" r="4" fill="url(#ink)"/></g>"##
            }
            Picture::Pan => {
                r##"<circle cx="180" cy="150" r="62" fill="#fff"/><circle cx="180" cy="150" r="46" fill="url(#ink)"/><rect x="236" y="140" width="90" height="20" rx="10" fill="#fff"/>"##
            }
            Picture::Cloth => {
                r##"<rect x="132" y="70" width="136" height="150" rx="8" fill="#fff"/><rect x="132" y="70" width="136" height="24" fill="url(#ink)" opacity=".9"/><path d="M132 120h136M132 160h136M180 94v126M228 94v126" stroke="url(#ink)" stroke-width="4" opacity=".5"/>"##
            }
            Picture::Board => {
                r##"<rect x="110" y="96" width="170" height="100" rx="18" fill="#fff"/><circle cx="260" cy="146" r="9" fill="url(#ink)"/><rect x="126" y="112" width="116" height="68" rx="10" fill="none" stroke="url(#ink)" stroke-width="4" opacity=".6"/>"##
            }
            Picture::Candle => {
                r##"<rect x="164" y="118" width="72" height="96" rx="10" fill="#fff"/><rect x="198" y="100" width="4" height="20" fill="url(#ink)"/><path d="M200 62c16 18 16 34 0 40-16-6-16-22 0-40z" fill="#fff" opacity=".9"/><rect x="164" y="150" width="72" height="10" fill="url(#ink)" opacity=".7"/>"##
            }
            Picture::Parcel => {
                r##"<path d="M200 76l70 34v76l-70 34-70-34v-76z" fill="#fff"/><path d="M130 110l70 34 70-34M200 144v76" fill="none" stroke="url(#ink)" stroke-width="6" stroke-linejoin="round"/>"##
            }
        }
    }
}

/// A small, stable hash (FNV-1a): the colour of a product and the version of its picture.
pub fn name_hash(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// Bumped when the drawings change, so browsers fetch them again.
const DRAWINGS: u32 = 1;

/// The version of a product's picture: its name and the drawings'.
pub fn picture_version(name: &str) -> String {
    format!("{:08x}", name_hash(name) ^ DRAWINGS)
}

/// Where a product without a photo finds its picture (the address changes
/// with the name and the drawings, so browsers may keep each one for good).
pub fn placeholder_url(id: i64, name: &str) -> String {
    format!("/images/placeholder/{id}.svg?v={}", picture_version(name))
}

/// `text` safe inside XML text and attribute values (control characters,
/// which XML 1.0 does not allow, dropped).
fn xml_escaped(text: &str) -> String {
    crate::security::escape_html(&text.chars().filter(|c| !c.is_control()).collect::<String>())
}

/// The name as it fits under the drawing: at most 30 characters.
fn caption(name: &str) -> String {
    const MAX: usize = 30;
    if name.chars().count() <= MAX { name.to_string() } else { format!("{}…", name.chars().take(MAX - 1).collect::<String>().trim_end()) }
}

/// The SVG for product `id` named `name`.
pub fn product_svg(id: i64, name: &str) -> String {
    let hue = name_hash(&format!("{id}:{name}")) % 360;
    let hue2 = (hue + 28) % 360;
    let label = xml_escaped(name);
    let caption = xml_escaped(&caption(name));
    let shapes = Picture::for_name(name).shapes();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300" role="img" aria-label="{label}"><defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl({hue},52%,60%)"/><stop offset="1" stop-color="hsl({hue2},52%,40%)"/></linearGradient><linearGradient id="ink" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl({hue2},52%,52%)"/><stop offset="1" stop-color="hsl({hue},52%,34%)"/></linearGradient></defs><rect width="400" height="300" fill="url(#bg)"/><circle cx="340" cy="40" r="90" fill="#fff" opacity=".08"/><circle cx="40" cy="280" r="120" fill="#fff" opacity=".06"/>{shapes}<text x="200" y="262" text-anchor="middle" font-family="system-ui, sans-serif" font-size="20" font-weight="600" fill="#fff">{caption}</text></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_follows_what_the_name_says() {
        assert_eq!(Picture::for_name("Wireless Headphones"), Picture::Headphones);
        assert_eq!(Picture::for_name("4K Monitor 27\""), Picture::Screen);
        assert_eq!(Picture::for_name("Linen Tea Towels"), Picture::Cloth);
        assert_eq!(Picture::for_name("Earl Grey Tea"), Picture::Leaf);
        assert_eq!(Picture::for_name("Pour-Over Kettle"), Picture::Kettle);
        assert_eq!(Picture::for_name("Studio Amber Power Bank X-12"), Picture::Battery);
        assert_eq!(Picture::for_name("Something Else"), Picture::Parcel);
    }

    #[test]
    fn hostile_names_stay_text() {
        let svg = product_svg(7, "</text><script>alert(1)</script>\" onload=\"x");
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("\" onload"));
        assert!(svg.contains("&lt;/text&gt;&lt;script&gt;"));
    }

    #[test]
    fn each_product_has_its_own_colour_and_a_new_address_when_renamed() {
        assert_ne!(product_svg(1, "Tea"), product_svg(2, "Tea"));
        assert_ne!(placeholder_url(1, "Tea"), placeholder_url(1, "Green Tea"));
        assert_eq!(placeholder_url(1, "Tea"), placeholder_url(1, "Tea"));
    }
}
