import Foundation

/// Scrubbing and shortening of text that came from the network, so that
/// error messages stay one readable line and never echo secrets.
public enum Redaction {
    /// What replaces a scrubbed secret.
    public static let placeholder = "[REDACTED]"

    /// Replace known secrets (exact substrings of at least 8 characters),
    /// then anything that *looks* like a credential:
    /// - access key ids: `AKIA`/`ASIA` + 16 upper-case letters or digits,
    /// - base64-like runs of ≥ 32 chars mixing upper, lower and digits
    ///   (secret access keys are 40, session tokens hundreds),
    /// - hex runs of ≥ 40 chars (SigV4 signatures are 64).
    /// DynamoDB request ids (upper-case only) survive.
    public static func scrub(_ text: String, secrets: [String] = []) -> String {
        var s = text
        for secret in secrets where secret.count >= 8 {
            s = s.replacingOccurrences(of: secret, with: placeholder)
        }
        var out = ""
        var run = ""
        func flush() {
            // Base64 has `=` only as trailing padding, so an inner `=` is a
            // separator (`key=…`, `Signature=…`): judge each side alone.
            var rest = Substring(run)
            while let eq = rest.firstIndex(of: "="), rest[eq...].contains(where: { $0 != "=" }) {
                let head = rest[..<eq]
                out += looksLikeSecret(String(head)) ? placeholder : String(head)
                out += "="
                rest = rest[rest.index(after: eq)...]
            }
            out += looksLikeSecret(String(rest)) ? placeholder : String(rest)
            run = ""
        }
        for ch in s {
            if ch.isASCII && (ch.isLetter || ch.isNumber || ch == "+" || ch == "/" || ch == "=") {
                run.append(ch)
            } else {
                flush()
                out.append(ch)
            }
        }
        flush()
        return out
    }

    static func looksLikeSecret(_ run: String) -> Bool {
        let core = run.trimmingCharacters(in: .init(charactersIn: "/="))
        if core.count >= 20, core.hasPrefix("AKIA") || core.hasPrefix("ASIA"),
            core.allSatisfy({ $0.isUppercase || $0.isNumber })
        {
            return true
        }
        if core.count >= 40, core.allSatisfy({ $0.isHexDigit }) { return true }
        if core.count >= 32, core.contains(where: \.isUppercase), core.contains(where: \.isLowercase),
            core.contains(where: \.isNumber)
        {
            return true
        }
        return false
    }

    /// One line of at most `limit` characters: control characters and runs
    /// of whitespace become a single space, an ellipsis marks truncation.
    public static func sanitizeExcerpt(_ text: String, limit: Int = 200) -> String {
        var out = ""
        var pendingSpace = false
        for ch in text {
            if ch.isWhitespace || ch.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control }) {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            out.append(ch)
            if out.count > limit { break }
        }
        if out.count > limit { return String(out.prefix(limit - 1)) + "…" }
        return out
    }

    /// A short, scrubbed, single-line excerpt of a response body. Markup
    /// (an HTML error page, unknown XML) is reduced to its text.
    public static func bodyExcerpt(_ body: [UInt8], secrets: [String] = [], limit: Int = 200) -> String {
        // Bound the work on huge bodies; known secrets are removed before
        // cutting so a secret straddling the cut cannot leak half of itself.
        var text = scrubKnown(String(decoding: body.prefix(1 << 20), as: UTF8.self), secrets)
        if text.count > 4096 {
            text = String(text.prefix(4096))
            // Drop a trailing partial token that the cut may have created.
            while let last = text.last, !last.isWhitespace, last != ">" { text.removeLast() }
        }
        if text.drop(while: \.isWhitespace).first == "<" { text = stripTags(text) }
        return sanitizeExcerpt(scrub(text, secrets: secrets), limit: limit)
    }

    static func scrubKnown(_ text: String, _ secrets: [String]) -> String {
        secrets.filter { $0.count >= 8 }.reduce(text) { $0.replacingOccurrences(of: $1, with: placeholder) }
    }

    static func stripTags(_ text: String) -> String {
        var out = ""
        var inTag = false
        for ch in text {
            if ch == "<" {
                inTag = true
                out.append(" ")
            } else if ch == ">" && inTag {
                inTag = false
            } else if !inTag {
                out.append(ch)
            }
        }
        return out
    }
}
