-- AlterTable
ALTER TABLE "Execution" ADD COLUMN     "parentId" TEXT,
ADD COLUMN     "parentStep" TEXT,
ADD COLUMN     "trigger" TEXT;

-- CreateTable
CREATE TABLE "Task" (
    "id" TEXT NOT NULL,
    "executionId" TEXT NOT NULL,
    "activityId" TEXT NOT NULL,
    "name" TEXT,
    "status" TEXT NOT NULL,
    "assignee" TEXT,
    "candidateGroups" TEXT NOT NULL DEFAULT '[]',
    "candidateUsers" TEXT NOT NULL DEFAULT '[]',
    "form" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),
    "completedBy" TEXT,
    "result" TEXT,

    CONSTRAINT "Task_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Wait" (
    "id" TEXT NOT NULL,
    "executionId" TEXT NOT NULL,
    "activityId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT,
    "correlationKey" TEXT,
    "dueAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Wait_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Inbox" (
    "id" TEXT NOT NULL,
    "executionId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "targetStep" TEXT,
    "payload" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Inbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Task_status_createdAt_idx" ON "Task"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Task_executionId_idx" ON "Task"("executionId");

-- CreateIndex
CREATE INDEX "Wait_kind_name_correlationKey_idx" ON "Wait"("kind", "name", "correlationKey");

-- CreateIndex
CREATE INDEX "Wait_kind_dueAt_idx" ON "Wait"("kind", "dueAt");

-- CreateIndex
CREATE INDEX "Wait_executionId_idx" ON "Wait"("executionId");

-- CreateIndex
CREATE INDEX "Inbox_executionId_createdAt_idx" ON "Inbox"("executionId", "createdAt");

-- CreateIndex
CREATE INDEX "Execution_parentId_idx" ON "Execution"("parentId");

-- AddForeignKey
ALTER TABLE "Task" ADD CONSTRAINT "Task_executionId_fkey" FOREIGN KEY ("executionId") REFERENCES "Execution"("id") ON DELETE CASCADE ON UPDATE CASCADE;
