import ExportReader
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `apply` keeps its private, verified copies of data files (`ExportReader.spool`): no record of a file is
/// written before the whole file is verified, and the copy — not the source, which may change — is what is read.
/// At most `fileConcurrency` copies exist at once (one per file being applied); each is removed once its file is done,
/// and leftovers of a crashed run are removed at the start of the next.
///
/// A copy is kept as the file's inflated text when it fits the text budget (so its records are read without a
/// second gunzip), otherwise as the compressed file. The budget is set by `prepare`: half the space left free once
/// the compressed copies' need is set aside (and within the spool's limit, when one is given), shared by the files
/// applied at once — the spool never takes the disk the checkpoint and rejects files need.
struct SpoolDirectory: Sendable {
    let path: String
    /// The most a file's text copy may take; 0 keeps only compressed copies.
    private(set) var textBudget: Int64 = 0

    /// The default: beside the checkpoint, `<plan>.spool` for `<plan>.checkpoint.json`.
    static func defaultPath(forCheckpoint checkpoint: String) -> String {
        (checkpoint.hasSuffix(".checkpoint.json") ? String(checkpoint.dropLast(".checkpoint.json".count)) : checkpoint)
            + ".spool"
    }

    /// Creates the directory (owner-only), empties it, checks it has room for `need` bytes (on the disk, and within
    /// `limit` when given), and sets the text budget for `textFilesAtOnce` files applied at once (nil: compressed
    /// copies only).
    mutating func prepare(need: Int64, textFilesAtOnce: Int?, limit: Int64? = nil) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ApplyError.spool(path: path, reason: "cannot create it: \(String(cString: strerror(errno)))")
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        where name.hasSuffix(".spool.gz") || name.hasSuffix(".spool.txt") {
            unlink(path + "/" + name)
        }
        var info = statvfs()
        guard statvfs(path, &info) == 0 else {
            throw ApplyError.spool(path: path, reason: String(cString: strerror(errno)))
        }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        guard free >= need else {
            throw ApplyError.spool(
                path: path,
                reason:
                    "needs \(need) bytes free for the verified copies of the files applied at once, has \(free); free some space or pass --spool-dir"
            )
        }
        if let limit, need > limit {
            throw ApplyError.spool(
                path: path,
                reason:
                    "needs \(need) bytes for the verified copies of the files applied at once, more than --spool-limit \(limit) (about two data files per file applied at once); raise it"
            )
        }
        let room = min((free - need) / 2, limit.map { $0 - need } ?? .max)
        textBudget = textFilesAtOnce.map { room / Int64(max($0, 1)) } ?? 0
    }

    /// Where a data file's copies go: the compressed one, and the text one with its budget when there is one.
    func copies(for key: String) -> (path: String, text: (path: String, budget: Int64)?) {
        let compressed = path(for: key)
        let text = String(compressed.dropLast(".gz".count)) + ".txt"
        return (compressed, textBudget > 0 ? (text, textBudget) : nil)
    }

    /// The copy's path for a data file: its name, made safe, and a hash of its whole key (names repeat across exports).
    func path(for key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let name = String(key.split(separator: "/").last ?? "file").map {
            $0.isASCII && ($0.isLetter || $0.isNumber) || $0 == "-" || $0 == "." ? $0 : "_"
        }
        return path + "/" + String(hash, radix: 16) + "-" + String(name.prefix(80)) + ".spool.gz"
    }
}
