/// A small, fast, seedable generator (SplitMix64): reproducible output for a given seed, on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one (seed, a, b) triple, e.g. (seed, key, version): items regenerate without being stored.
    public init(seed: UInt64, _ a: Int, _ b: Int) {
        var mixer = SplitMix64(seed: seed ^ UInt64(truncatingIfNeeded: a) &* 0x9E37_79B9_7F4A_7C15)
        state = mixer.next() ^ UInt64(truncatingIfNeeded: b) &* 0xBF58_476D_1CE4_E5B9
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
    mutating func pick<T>(_ options: [T]) -> T { options[int(0..<options.count)] }
    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}
