#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exports copied to a local directory (e.g. `aws s3 sync s3://bucket/prefix DIR`). Keys are paths under `root`.
public struct LocalDirectorySource: ExportSource {
    public let root: String
    public let chunkSize: Int

    public init(root: String, chunkSize: Int = 1 << 20) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.chunkSize = chunkSize
    }

    public var location: String { root }

    func path(for key: String) throws(ExportReaderError) -> String {
        let parts = key.split(separator: "/", omittingEmptySubsequences: true)
        guard !key.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0 == "." }) else {
            throw .unsafeKey(key: key)
        }
        return root + "/" + parts.joined(separator: "/")
    }

    public func listObjects(under prefix: String) async throws -> [ExportObject] {
        var objects: [ExportObject] = []
        let start = prefix.isEmpty ? "" : (prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix)
        try walk(relative: start, into: &objects)
        return objects.sorted { $0.key < $1.key }
    }

    private func walk(relative: String, into objects: inout [ExportObject]) throws {
        let directory = relative.isEmpty ? root : try path(for: relative)
        guard let handle = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return }
            throw ExportReaderError.io(path: directory, reason: String(cString: strerror(errno)))
        }
        defer { closedir(handle) }
        var children: [(String, Bool, Int64)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            let childKey = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard stat(root + "/" + childKey, &info) == 0 else { continue }
            children.append((childKey, (info.st_mode & S_IFMT) == S_IFDIR, Int64(info.st_size)))
        }
        for (key, isDirectory, size) in children {
            if isDirectory {
                try walk(relative: key, into: &objects)
            } else {
                objects.append(ExportObject(key: key, size: size))
            }
        }
    }

    public func exists(_ key: String) async throws -> Bool {
        var info = stat()
        return stat(try path(for: key), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    public func read(_ key: String) async throws -> [UInt8] {
        var result: [UInt8] = []
        try await forEachChunk(of: key) { result.append(contentsOf: $0) }
        return result
    }

    public func forEachChunk(of key: String, _ body: (UnsafeRawBufferPointer) async throws -> Void) async throws {
        let filePath = try path(for: key)
        let fd = open(filePath, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw ExportReaderError.objectNotFound(key: key, source: root) }
            throw ExportReaderError.io(path: filePath, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw ExportReaderError.io(path: filePath, reason: String(cString: strerror(errno)))
            }
            if count == 0 { return }
            try await body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}
