#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The two date forms SigV4 uses, computed from Unix time by hand: a
/// `DateFormatter` needs locale and time-zone set up correctly to be right and
/// is slow; this is neither.
struct AMZDate: Sendable, Equatable {
    /// `YYYYMMDD`, the date in the credential scope.
    let dateStamp: String
    /// `YYYYMMDD'T'HHMMSS'Z'`, the `X-Amz-Date` value.
    let timestamp: String

    init(_ date: Date) {
        // Sub-second parts are dropped (floor), as botocore's strftime does.
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        let stamp = Self.pad(year, 4) + Self.pad(month, 2) + Self.pad(day, 2)
        dateStamp = stamp
        timestamp =
            stamp + "T" + Self.pad(secondOfDay / 3600, 2) + Self.pad(secondOfDay / 60 % 60, 2)
            + Self.pad(secondOfDay % 60, 2) + "Z"
    }

    /// Days since 1970-01-01 to a proleptic Gregorian (year, month, day);
    /// Howard Hinnant's `civil_from_days`.
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // March-based
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
