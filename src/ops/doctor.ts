export async function doctorCommand(_args: string[]): Promise<number> {
  process.stderr.write('doctor: not available yet\n');
  return 1;
}
