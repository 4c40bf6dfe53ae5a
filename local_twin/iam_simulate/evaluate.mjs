// The twin's IAM evaluator: one JSON simulation per line on stdin, one answer per line on stdout.
// The evaluation itself is @cloud-copilot/iam-simulate's (identity + resource policies, every
// condition operator, the Service Authorization Reference's resource types); this file only pipes.
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  let answer
  try {
    const { id, simulation } = JSON.parse(line)
    const result = await runSimulation(simulation, {})
    if (result.resultType === 'error') {
      answer = { id, error: result.errors }
    } else {
      const single = result.resultType === 'single' ? result.result : result.results[0]
      const analysis = single?.analysis ?? {}
      const allowed = (analysis.identityAnalysis?.allowStatements ?? []).map((s) => s.policyId + '#' + (s.statement?.Sid ?? s.explain?.identifier ?? ''))
      answer = { id, result: result.overallResult, allowedBy: allowed }
    }
  } catch (error) {
    answer = { error: String(error?.stack ?? error) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
