import ArgumentParser
import Crypto
import Foundation
import SigV4

/// The cost of signing one BatchWriteItem call (25 items of ~800 bytes: a 20 KB body) against hashing its body
/// alone, which no signer can avoid: what is left is the signer's own work per request.
struct SignBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "SigV4 cost per request: the whole signature, and the body's SHA-256 alone."
    )

    @Option(help: "Requests signed per run.") var requests = 50_000
    @Option(help: "Body bytes per request.") var bodyBytes = 20_000
    @Option(help: "Timed repetitions (the best is reported).") var repeats = 3

    func run() async throws {
        let body = (0..<bodyBytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let signer = SigV4Signer(region: "us-east-1", service: "dynamodb")
        let credentials = SigningCredentials(
            accessKeyId: "AKIDEXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN"
        )
        let headers = [
            (name: "Host", value: "dynamodb.us-east-1.amazonaws.com"),
            (name: "Content-Type", value: "application/x-amz-json-1.0"),
            (name: "X-Amz-Target", value: "DynamoDB_20120810.BatchWriteItem"),
            (name: "Content-Length", value: String(bodyBytes)),
        ]
        let start = Date(timeIntervalSince1970: 1_765_000_000)
        var bestSign = Double.infinity
        var bestHash = Double.infinity
        var sink = 0
        for _ in 1...repeats {
            let signing = await measure {
                for index in 0..<requests {
                    let request = SigningRequest(method: "POST", path: "/", headers: headers, payload: .bytes(body))
                    let date = start.addingTimeInterval(Double(index / 1000))
                    sink &+= signer.sign(request, credentials: credentials, date: date).signature.utf8.count
                }
            }
            let hashing = await measure {
                for _ in 0..<requests { sink &+= SHA256.hash(data: body).withUnsafeBytes { Int($0[0]) } }
            }
            bestSign = min(bestSign, signing.cpu)
            bestHash = min(bestHash, hashing.cpu)
        }
        let perSign = bestSign / Double(requests) * 1e6
        let perHash = bestHash / Double(requests) * 1e6
        print(
            String(
                format:
                    "sign (best of %d): %.2f µs per request of %d B; of it the body's SHA-256 %.2f µs, the rest %.2f µs (%d)",
                repeats,
                perSign,
                bodyBytes,
                perHash,
                perSign - perHash,
                sink & 1
            )
        )
    }
}
