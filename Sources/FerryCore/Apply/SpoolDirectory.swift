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
struct SpoolDirectory: Sendable {
    let path: String

    /// The default: beside the checkpoint, `<plan>.spool` for `<plan>.checkpoint.json`.
    static func defaultPath(forCheckpoint checkpoint: String) -> String {
        (checkpoint.hasSuffix(".checkpoint.json") ? String(checkpoint.dropLast(".checkpoint.json".count)) : checkpoint)
            + ".spool"
    }

    /// Creates the directory (owner-only), empties it, and checks it has room for `need` bytes.
    func prepare(need: Int64) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ApplyError.spool(path: path, reason: "cannot create it: \(String(cString: strerror(errno)))")
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasSuffix(".spool.gz")
        {
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
