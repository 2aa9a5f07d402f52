/// UTF-8 checks on raw bytes, shared by the parser and the scanner.
///
/// The standard library's `String(validating:as:)` is generic over the encoding and costs a metadata lookup per
/// call on Linux; export lines hold dozens of strings, so the hot path checks bytes itself.
package enum UTF8Validation {
    /// Length of the valid UTF-8 sequence starting at `i` (1…4), or 0 when the bytes there are not valid UTF-8
    /// (overlong forms, surrogates and code points past U+10FFFF are invalid).
    @inline(__always)
    package static func sequenceLength(_ b: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> Int {
        let c0 = b[i]
        if c0 < 0x80 { return 1 }
        @inline(__always) func cont(_ k: Int) -> Bool { i + k < end && b[i + k] & 0xC0 == 0x80 }
        switch c0 {
        case 0xC2...0xDF:
            return cont(1) ? 2 : 0
        case 0xE0...0xEF:
            guard cont(1), cont(2) else { return 0 }
            let c1 = b[i + 1]
            if c0 == 0xE0 && c1 < 0xA0 { return 0 }  // overlong
            if c0 == 0xED && c1 >= 0xA0 { return 0 }  // surrogate
            return 3
        case 0xF0...0xF4:
            guard cont(1), cont(2), cont(3) else { return 0 }
            let c1 = b[i + 1]
            if c0 == 0xF0 && c1 < 0x90 { return 0 }  // overlong
            if c0 == 0xF4 && c1 >= 0x90 { return 0 }  // past U+10FFFF
            return 4
        default:
            return 0
        }
    }

    /// True when `b[start..<end]` is valid UTF-8.
    package static func isValid(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var i = start
        while i < end {
            if b[i] < 0x80 {
                i += 1
                continue
            }
            let n = sequenceLength(b, at: i, end: end)
            if n == 0 { return false }
            i += n
        }
        return true
    }
}
