/** google.rpc.Status trailers for the tests' own refusing servers, serialized as the real server sends them. */
import { BinaryWriter } from "@bufbuild/protobuf/wire";

/** A google.rpc.Status with one ErrorInfo of `reason`, serialized, as the server sends it. */
export function statusDetails(code: number, message: string, reason: string): Buffer {
  const errorInfo = new BinaryWriter().uint32(10).string(reason).uint32(18).string("adk-grpc-sessions").finish();
  const any = new BinaryWriter()
    .uint32(10)
    .string("type.googleapis.com/google.rpc.ErrorInfo")
    .uint32(18)
    .bytes(errorInfo)
    .finish();
  return Buffer.from(new BinaryWriter().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(any).finish());
}
