import AWSCore
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The live transport: one AsyncHTTPClient with a bounded connection pool and TLS verification on.
///
/// Use `withTransport { }` so the client is always shut down, even when the body throws.
public final class AsyncHTTPClientTransport: HTTPTransport {
    private let client: HTTPClient

    /// - Parameter maxConnectionsPerHost: the pool's bound; requests beyond it wait for a free connection.
    public init(maxConnectionsPerHost: Int = 64) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost
        )
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow  // S3 redirects mean a wrong region: report them, do not follow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body` with a transport and shuts it down afterwards, whatever happens.
    public static func withTransport<T>(
        maxConnectionsPerHost: Int = 64,
        _ body: (AsyncHTTPClientTransport) async throws -> T
    ) async throws -> T {
        let transport = AsyncHTTPClientTransport(maxConnectionsPerHost: maxConnectionsPerHost)
        do {
            let result = try await body(transport)
            try await transport.client.shutdown()
            return result
        } catch {
            try? await transport.client.shutdown()
            throw error
        }
    }

    private func makeRequest(_ request: HTTPRequestData) -> HTTPClientRequest {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers where name.lowercased() != "host" {
            outgoing.headers.add(name: name, value: value)
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        }
        return outgoing
    }

    /// One request and its whole response, within `timeout` from the start to the last byte of the body.
    ///
    /// Through AsyncHTTPClient's future-based `execute`, whose deadline covers the body too: one continuation per
    /// call, where the streaming API needs a watchdog task beside each read once the head is in (measured: 5 % of
    /// a bulk apply's CPU). `stream` keeps the watchdog: there a slow consumer is not a dead connection.
    public func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        do {
            var headers = HTTPHeaders()
            for (name, value) in request.headers where name.lowercased() != "host" {
                headers.add(name: name, value: value)
            }
            let hasBody = !request.body.isEmpty || request.method == "POST" || request.method == "PUT"
            let outgoing = try HTTPClient.Request(
                url: request.url,
                method: HTTPMethod(rawValue: request.method),
                headers: headers,
                body: hasBody ? .byteBuffer(ByteBuffer(bytes: request.body)) : nil
            )
            let nanoseconds =
                Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            // The body is held in memory: at most 64 MB (an API response is a few KB; more means a wrong endpoint).
            let response = try await client.execute(
                request: outgoing,
                delegate: ResponseAccumulator(request: outgoing, maxBodySize: 64 << 20),
                deadline: .now() + .nanoseconds(nanoseconds)
            ).get()
            var body = response.body ?? ByteBuffer()
            return HTTPResponseData(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: body.readBytes(length: body.readableBytes) ?? []
            )
        } catch let error as TransportError {
            throw error
        } catch {
            throw Self.transportError(error)
        }
    }

    public func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(
                makeRequest(request),
                timeout: .nanoseconds(
                    Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
                )
            )
        } catch {
            throw Self.transportError(error)
        }
        let headers = response.headers.map { ($0.name, $0.value) }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            var body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
            return HTTPResponseData(
                status: status,
                headers: headers,
                body: body.readBytes(length: body.readableBytes) ?? []
            )
        }
        try onHead(HTTPResponseData(status: status, headers: headers, body: []))
        do {
            for try await var buffer in response.body {
                try await onChunk(buffer.readBytes(length: buffer.readableBytes) ?? [])
            }
        } catch let error as HTTPClientError {
            throw Self.transportError(error)
        }
        return HTTPResponseData(status: status, headers: headers, body: [])
    }

    /// Maps AsyncHTTPClient and NIO failures onto the kinds the retry classifier knows.
    static func transportError(_ error: any Error) -> TransportError {
        let text = "\(error)"
        let kind: TransportErrorKind
        switch error as? HTTPClientError {
        case .readTimeout?, .deadlineExceeded?: kind = .readTimeout
        case .connectTimeout?: kind = .connectTimeout
        case .remoteConnectionClosed?: kind = .connectionReset
        default:
            if text.contains("connectionRefused") || text.contains("Connection refused") {
                kind = .connectionRefused
            } else if text.contains("reset") || text.contains("closed") || text.contains("EOF") {
                kind = .connectionReset
            } else if text.contains("certificate") || text.contains("Certificate") {
                kind = .tlsCertificateInvalid
            } else if text.contains("DNS") || text.contains("resolve") {
                kind = .dnsFailure
            } else {
                kind = .other
            }
        }
        return TransportError(kind: kind, detail: text)
    }
}
